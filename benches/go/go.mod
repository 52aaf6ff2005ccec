module gorun-benches

go 1.19
