//! `select!` chooses uniformly at random among ready cases: a chi-square test
//! over 40,000 selects with 4 always-ready cases, and `biased;` as the control.

use gorun::{chan, select};

const TRIALS: usize = 40_000;
/// The chi-square critical value for 3 degrees of freedom at p = 0.001: a fair
/// select fails this test once in a thousand runs.
const CHI2_3DF_P001: f64 = 16.266;

fn chi_square(counts: &[usize; 4]) -> f64 {
    let expected = TRIALS as f64 / 4.0;
    counts
        .iter()
        .map(|&o| (o as f64 - expected).powi(2) / expected)
        .sum()
}

#[gorun::test]
async fn four_ready_recv_cases_are_chosen_uniformly() {
    let chans: Vec<_> = (0..4).map(|_| chan::<usize>(1)).collect();
    for (k, (tx, _)) in chans.iter().enumerate() {
        tx.send(k).await.unwrap();
    }
    let (r0, r1, r2, r3) = (&chans[0].1, &chans[1].1, &chans[2].1, &chans[3].1);
    let mut counts = [0usize; 4];
    for _ in 0..TRIALS {
        let k = select! {
            recv(r0) -> v => v.unwrap(),
            recv(r1) -> v => v.unwrap(),
            recv(r2) -> v => v.unwrap(),
            recv(r3) -> v => v.unwrap(),
        };
        counts[k] += 1;
        // Refill the channel that fired: all four stay ready.
        chans[k].0.try_send(k).unwrap();
    }
    let chi2 = chi_square(&counts);
    assert!(
        chi2 < CHI2_3DF_P001,
        "counts {counts:?}: chi-square {chi2:.2} (p < 0.001)"
    );
}

#[gorun::test]
async fn four_ready_cases_of_every_kind_are_chosen_uniformly() {
    let (tx0, rx0) = chan::<u8>(1);
    let (tx1, rx1) = chan::<u8>(1);
    let (tx2, rx2) = chan::<u8>(1);
    tx0.send(0).await.unwrap();
    let mut counts = [0usize; 4];
    for _ in 0..TRIALS {
        let k = select! {
            recv(rx0) -> _ => 0,
            send(tx1, 1) -> _ => 1,
            send(tx2, 2) -> _ => 2,
            () = std::future::ready(()) => 3,
        };
        counts[k] += 1;
        match k {
            0 => tx0.try_send(0).unwrap(),
            1 => assert_eq!(rx1.try_recv(), Ok(1)),
            2 => assert_eq!(rx2.try_recv(), Ok(2)),
            _ => {}
        }
        // Only the chosen case took effect.
        assert_eq!((rx0.len(), rx1.len(), rx2.len()), (1, 0, 0));
    }
    let chi2 = chi_square(&counts);
    assert!(
        chi2 < CHI2_3DF_P001,
        "counts {counts:?}: chi-square {chi2:.2} (p < 0.001)"
    );
}

#[gorun::test]
async fn biased_is_not_uniform() {
    let chans: Vec<_> = (0..4).map(|_| chan::<usize>(1)).collect();
    for (k, (tx, _)) in chans.iter().enumerate() {
        tx.send(k).await.unwrap();
    }
    let (r0, r1, r2, r3) = (&chans[0].1, &chans[1].1, &chans[2].1, &chans[3].1);
    let mut counts = [0usize; 4];
    for _ in 0..TRIALS {
        let k = select! {
            biased;
            recv(r0) -> v => v.unwrap(),
            recv(r1) -> v => v.unwrap(),
            recv(r2) -> v => v.unwrap(),
            recv(r3) -> v => v.unwrap(),
        };
        counts[k] += 1;
        chans[k].0.try_send(k).unwrap();
    }
    assert_eq!(counts, [TRIALS, 0, 0, 0]);
    // The statistic detects a skewed choice.
    assert!(chi_square(&counts) > CHI2_3DF_P001);
}
