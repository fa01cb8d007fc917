"""The compiled core (`fanns_bench._core`): one file per part in cpp/."""
