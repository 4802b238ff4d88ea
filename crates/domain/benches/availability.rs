//! Benchmark (a) of issue 3: the availability engine over 90 days for 3 locations, 20 weekly
//! ranges, 500 existing appointments and 5 away periods must take under 1 ms per call.
//!
//! Timed with `std::time::Instant` rather than criterion: criterion's dependency tree costs
//! minutes of build time on the 2-core machine and this needs only a median and a p99.
//! Run with `cargo bench -p anteroom-domain --bench availability`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anteroom_domain::availability::{AvailabilityQuery, bench_fixture, slots};
use jiff::civil::date;

const CALLS: usize = 2_000;
const WARM_UP: usize = 200;
const TARGET: Duration = Duration::from_millis(1);

fn main() {
    let (zone, hours, rules, away, busy, now) = bench_fixture();
    let query = AvailabilityQuery {
        zone: &zone,
        hours: &hours,
        rules: &rules,
        away: &away,
        busy: &busy,
        location: None,
        from: date(2027, 3, 22),
        to: date(2027, 6, 19),
        now,
    };
    let count = slots(&query).len();
    for _ in 0..WARM_UP {
        black_box(slots(black_box(&query)));
    }
    let mut times: Vec<Duration> = (0..CALLS)
        .map(|_| {
            let started = Instant::now();
            let found = slots(black_box(&query));
            let took = started.elapsed();
            black_box(found);
            took
        })
        .collect();
    times.sort_unstable();
    let median = times[CALLS / 2];
    let p99 = times[CALLS * 99 / 100 - 1];
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let verdict = |d: Duration| if d < TARGET { "PASS" } else { "MISS" };
    println!(
        "availability engine: 90 days, {} locations, {} weekly ranges, {} busy, {} away -> {count} slots; {CALLS} calls",
        3,
        hours.len(),
        busy.len(),
        away.len()
    );
    println!(
        "  median {:>8.1} µs   target < {:.0} µs   {}",
        micros(median),
        micros(TARGET),
        verdict(median)
    );
    println!(
        "  p99    {:>8.1} µs   target < {:.0} µs   {}",
        micros(p99),
        micros(TARGET),
        verdict(p99)
    );
}
