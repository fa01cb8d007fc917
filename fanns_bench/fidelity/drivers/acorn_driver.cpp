// fanns-bench fidelity driver for the authors' ACORN library (TAG-Research/ACORN, 8cbf16d).
// Our code, compiled against their faiss build (docs/fidelity.md has the command line).
//
//   acorn_driver BASE.fvecs QUERIES.fvecs FILTER.u8 M GAMMA M_BETA SEED EF[,EF...] K OUT_PREFIX
//
// FILTER.u8: nq x N bytes, row-major, 1 where item j satisfies query i's filter (ACORN's
// filter_id_map). Builds IndexACORNFlat on one thread with its level generator seeded with
// SEED, then for each EF searches all queries on one thread and writes OUT_PREFIX<EF>.ivecs
// (k ids per query, -1 where fewer were found) and prints
//   ef=<EF> cpu_seconds=<s> wall_seconds=<s>
// (cpu: std::clock around the search call, one thread).
#include <faiss/IndexACORN.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

static std::vector<float> read_fvecs(const std::string& path, size_t& rows, size_t& dim) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::vector<float> data;
    rows = 0;
    int d = 0;
    while (in.read(reinterpret_cast<char*>(&d), 4)) {
        dim = d;
        size_t at = data.size();
        data.resize(at + d);
        in.read(reinterpret_cast<char*>(data.data() + at), 4 * size_t(d));
        ++rows;
    }
    return data;
}

int main(int argc, char** argv) {
    if (argc != 11) {
        std::fprintf(stderr, "usage: %s BASE.fvecs QUERIES.fvecs FILTER.u8 M GAMMA M_BETA SEED EFS K OUT_PREFIX\n", argv[0]);
        return 2;
    }
    try {
        size_t n, d, nq, dq;
        std::vector<float> base = read_fvecs(argv[1], n, d);
        std::vector<float> queries = read_fvecs(argv[2], nq, dq);
        if (dq != d) throw std::runtime_error("query and base dimensions differ");
        std::vector<char> filter(nq * n);
        std::ifstream in(argv[3], std::ios::binary);
        if (!in.read(filter.data(), filter.size())) throw std::runtime_error("filter file shorter than nq x N bytes");
        int M = std::stoi(argv[4]), gamma = std::stoi(argv[5]), M_beta = std::stoi(argv[6]);
        int seed = std::stoi(argv[7]), k = std::stoi(argv[9]);
        std::string prefix = argv[10];
        std::vector<int> efs;
        std::stringstream list(argv[8]);
        for (std::string token; std::getline(list, token, ',');) efs.push_back(std::stoi(token));

        omp_set_num_threads(1);
        std::vector<int> metadata(n, 0);  // must outlive the index; the filter map decides matches
        faiss::IndexACORNFlat index(int(d), M, gamma, metadata, M_beta);
        index.acorn.rng = faiss::RandomGenerator(seed);
        index.add(n, base.data());

        std::vector<faiss::idx_t> ids(nq * k);
        std::vector<float> distances(nq * k);
        for (int ef : efs) {
            index.acorn.efSearch = ef;
            auto wall = std::chrono::steady_clock::now();
            std::clock_t cpu = std::clock();
            index.search(nq, queries.data(), k, distances.data(), ids.data(), filter.data());
            double cpu_s = double(std::clock() - cpu) / CLOCKS_PER_SEC;
            double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
            std::ofstream out(prefix + std::to_string(ef) + ".ivecs", std::ios::binary);
            for (size_t q = 0; q < nq; ++q) {
                out.write(reinterpret_cast<const char*>(&k), 4);
                for (int j = 0; j < k; ++j) {
                    int id = int(ids[q * k + j]);
                    out.write(reinterpret_cast<const char*>(&id), 4);
                }
            }
            std::printf("ef=%d cpu_seconds=%.6f wall_seconds=%.6f\n", ef, cpu_s, wall_s);
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "acorn_driver: %s\n", error.what());
        return 1;
    }
    return 0;
}
