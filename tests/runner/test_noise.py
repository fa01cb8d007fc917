"""The noisy flag: what must flag and what must not."""

import pytest

from fanns_bench.runner.noise import NoiseInputs, dispersion, noisy_reasons

QUIET = NoiseInputs(
    rates=[1000.0, 1020.0, 990.0],
    given_rates=[1500.0, 1490.0, 1510.0],
    repetition_seconds=0.1,
    cpu_wall_ratio=0.98,
    threads=1,
    load_avg=1.1,
    cores=2,
)


def with_(**changes) -> NoiseInputs:
    return NoiseInputs(**{**QUIET.__dict__, **changes})


def test_a_steady_point_on_a_quiet_machine_is_not_noisy():
    assert noisy_reasons(QUIET) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"rates": [1000.0, 1300.0, 990.0]}, "QPS std"),  # 17 % of the mean
        ({"given_rates": [1500.0, 900.0]}, "QPS given filter std"),
        ({"repetition_seconds": 0.0004}, "shortest repetition"),
        ({"cpu_wall_ratio": 0.6}, "CPU/wall 0.60"),
        ({"load_avg": 3.5}, "load average 3.5 > 2 cores"),
    ],
)
def test_each_sign_of_noise_flags_with_its_reason(changes, reason):
    reasons = noisy_reasons(with_(**changes))
    assert len(reasons) == 1 and reason in reasons[0]


def test_an_outlier_among_many_repetitions_flags_even_when_the_std_is_small():
    rates = [1000.0] * 60 + [1600.0]  # std about 8 %, one value 59 % above the mean
    [reason] = noisy_reasons(with_(rates=rates))
    assert "extreme" in reason


def test_low_cpu_per_wall_second_is_expected_with_several_threads_or_no_reading():
    assert noisy_reasons(with_(cpu_wall_ratio=0.6, threads=4)) == []
    assert noisy_reasons(with_(cpu_wall_ratio=None)) == []


def test_spread_just_under_the_thresholds_does_not_flag():
    assert noisy_reasons(with_(rates=[1000.0, 1130.0], load_avg=2.0, cpu_wall_ratio=0.86)) == []


def test_several_reasons_are_all_given():
    reasons = noisy_reasons(with_(rates=[500.0, 1000.0], load_avg=9.0, cpu_wall_ratio=0.3))
    assert len(reasons) == 3


def test_dispersion_of_the_rates():
    measured = dispersion(10, [0.01, 0.02, 0.04, 0.05])
    assert measured["qps"] == 10 / 0.03 and measured["qps_best"] == 1000 and measured["qps_min"] == 200
    assert measured["qps_iqr"] == pytest.approx(625 - 237.5)  # rates 200, 250, 500, 1000
