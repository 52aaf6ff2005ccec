//! `gorun::fs::File` against `tokio::fs::File`, each on its own 2-worker runtime,
//! in the same run: a 256 MiB file read sequentially in 64 KiB reads, and
//! written in 64 KiB writes (then flushed). Both go through the page cache (the
//! file is read once before measuring), so this measures each runtime's
//! blocking-pool hand-off and buffering, not the disk.
//!
//! Run with `cargo bench --bench fs -- --warm-up-time 1 --measurement-time 5`.

#![allow(missing_docs)] // criterion_group! generates an undocumented fn

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const FILE_LEN: usize = 256 << 20;
const CHUNK: usize = 64 << 10;
const WORKERS: usize = 2;

async fn gorun_read(path: PathBuf) -> usize {
    use gorun::io::AsyncReadExt;
    let mut f = gorun::fs::File::open(&path).await.unwrap();
    let mut buf = vec![0; CHUNK];
    let mut total = 0;
    loop {
        let n = f.read(&mut buf).await.unwrap();
        if n == 0 {
            break total;
        }
        total += n;
    }
}

async fn tokio_read(path: PathBuf) -> usize {
    use tokio::io::AsyncReadExt;
    let mut f = tokio::fs::File::open(&path).await.unwrap();
    let mut buf = vec![0; CHUNK];
    let mut total = 0;
    loop {
        let n = f.read(&mut buf).await.unwrap();
        if n == 0 {
            break total;
        }
        total += n;
    }
}

async fn gorun_write(path: PathBuf) {
    use gorun::io::AsyncWriteExt;
    let mut f = gorun::fs::File::create(&path).await.unwrap();
    let chunk = vec![0xA5; CHUNK];
    for _ in 0..FILE_LEN / CHUNK {
        f.write_all(&chunk).await.unwrap();
    }
    f.flush().await.unwrap();
}

async fn tokio_write(path: PathBuf) {
    use tokio::io::AsyncWriteExt;
    let mut f = tokio::fs::File::create(&path).await.unwrap();
    let chunk = vec![0xA5; CHUNK];
    for _ in 0..FILE_LEN / CHUNK {
        f.write_all(&chunk).await.unwrap();
    }
    f.flush().await.unwrap();
}

fn written_len(path: &Path) -> usize {
    std::fs::metadata(path).unwrap().len() as usize
}

fn bench_fs(c: &mut Criterion) {
    let grt = gorun::Runtime::builder().procs(WORKERS).build().unwrap();
    let trt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let chunk: Vec<u8> = (0..CHUNK).map(|i| (i * 31) as u8).collect();
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&src).unwrap();
        for _ in 0..FILE_LEN / CHUNK {
            f.write_all(&chunk).unwrap();
        }
    }
    std::fs::read(&src).unwrap(); // into the page cache

    let mut g = c.benchmark_group("fs_read_256MiB_64KiB");
    g.throughput(Throughput::Bytes(FILE_LEN as u64));
    g.sample_size(10);
    g.bench_function("gorun", |b| {
        b.iter(|| assert_eq!(grt.run(gorun_read(src.clone())), FILE_LEN))
    });
    g.bench_function("tokio", |b| {
        b.iter(|| assert_eq!(trt.block_on(tokio_read(src.clone())), FILE_LEN))
    });
    g.finish();

    let dst = dir.path().join("dst");
    let mut g = c.benchmark_group("fs_write_256MiB_64KiB");
    g.throughput(Throughput::Bytes(FILE_LEN as u64));
    g.sample_size(10);
    g.bench_function("gorun", |b| b.iter(|| grt.run(gorun_write(dst.clone()))));
    assert_eq!(written_len(&dst), FILE_LEN);
    g.bench_function("tokio", |b| {
        b.iter(|| trt.block_on(tokio_write(dst.clone())))
    });
    assert_eq!(written_len(&dst), FILE_LEN);
    g.finish();
}

criterion_group!(benches, bench_fs);
criterion_main!(benches);
