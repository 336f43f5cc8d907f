//! Harness: random fault schedules shared by the fake Gitea and the git server.
//!
//! - [`Scheduled`]: a fault by position, "the n-th request of the run, any route";
//! - [`Rng`]: a small seeded generator, so a failing case is replayed from its seed alone;
//! - [`KillListener`]: a TCP listener for axum whose connections a handler can kill, so a
//!   server can close a socket without sending any answer (a reset connection), or cut
//!   its answer after the headers and part of the body (the full `Content-Length` was
//!   announced: a truncated answer);
//! - [`cases`]: the seeded case loop of the property tests, printing `seed=… case=…` on a
//!   failure (`SHIPGATE_FAULT_SEED`, `SHIPGATE_FAULT_CASES`, `SHIPGATE_FAULT_CASE`).

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{extract::connect_info::Connected, serve::IncomingStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

// ---- the schedule ----------------------------------------------------------------------

/// One fault by position: the `nth` (1-based) request the server receives after the
/// schedule was installed, whatever its route, gets `kind`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled<K> {
    pub nth: usize,
    pub kind: K,
}

impl<K> Scheduled<K> {
    pub fn new(nth: usize, kind: K) -> Scheduled<K> {
        Scheduled { nth, kind }
    }
}

// ---- the generator ---------------------------------------------------------------------

/// splitmix64: tiny, seedable, good enough to draw scenarios.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The generator of case `case` under `seed`: a case replays without the ones before.
    pub fn for_case(seed: u64, case: u64) -> Rng {
        let mut rng = Rng(seed ^ case.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        rng.next();
        rng
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Each item kept with `percent` chance.
    pub fn subset<T: Clone>(&mut self, items: &[T], percent: usize) -> Vec<T> {
        items
            .iter()
            .filter(|_| self.chance(percent))
            .cloned()
            .collect()
    }
}

/// Positions for a schedule: 1–3 faults (sometimes 4–6) among the first `requests`
/// positions (a clean run's request count; a few past it, for retries), distinct.
pub fn positions(rng: &mut Rng, requests: usize) -> Vec<usize> {
    let count = if rng.chance(15) {
        rng.range(4, 6)
    } else {
        rng.range(1, 3)
    };
    let span = requests.max(1) + 2;
    let mut out: Vec<usize> = (0..count).map(|_| 1 + rng.below(span)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

// ---- the case loop ---------------------------------------------------------------------

/// Default seed of every mode's property test (a fixed seed: the run is reproducible).
pub const DEFAULT_SEED: u64 = 0x5817_9a7e_fa17_5eed;

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Run `case` for every case number: `SHIPGATE_FAULT_CASES` (default `default_cases`)
/// cases under `SHIPGATE_FAULT_SEED` (default [`DEFAULT_SEED`]), or only case
/// `SHIPGATE_FAULT_CASE`. A case returns `Err(why)` or panics to fail; the first failure
/// stops the loop and panics naming the seed, the case and how to replay it.
pub fn cases(
    mode: &str,
    default_cases: u64,
    mut case: impl FnMut(&mut Rng, u64) -> Result<(), String>,
) {
    let seed = env_u64("SHIPGATE_FAULT_SEED").unwrap_or(DEFAULT_SEED);
    let count = env_u64("SHIPGATE_FAULT_CASES").unwrap_or(default_cases);
    let only = env_u64("SHIPGATE_FAULT_CASE");
    let numbers: Vec<u64> = match only {
        Some(n) => vec![n],
        None => (0..count).collect(),
    };
    let started = Instant::now();
    for &n in &numbers {
        let mut rng = Rng::for_case(seed, n);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&mut rng, n)));
        if (n + 1) % 100 == 0 {
            eprintln!("{mode}: case {} ({:.1?})", n + 1, started.elapsed());
        }
        let why = match result {
            Ok(Ok(())) => continue,
            Ok(Err(why)) => why,
            Err(panic) => panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic without a message".into()),
        };
        panic!(
            "{mode}: fault schedule property failed: seed={seed:#x} case={n}\n\
             replay: SHIPGATE_FAULT_SEED={seed:#x} SHIPGATE_FAULT_CASE={n} \
             cargo test --test lib fault_schedules::{mode}\n{why}"
        );
    }
    eprintln!(
        "{mode}: {} fault-schedule cases passed (seed={seed:#x}) in {:.1?}",
        numbers.len(),
        started.elapsed()
    );
}

// ---- killable connections --------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Open,
    /// Every read and write fails; the socket closes with a reset.
    Killed,
    /// Write the response head and `keep` more bytes, then fail (an orderly close).
    Cut {
        keep: usize,
        head_seen: bool,
        /// How much of `\r\n\r\n` the bytes so far end with.
        matched: usize,
    },
}

/// A handle a handler uses to break its own connection (see [`KillListener`]).
#[derive(Clone, Debug)]
pub struct ConnKill(Arc<Mutex<Mode>>);

impl Default for ConnKill {
    fn default() -> Self {
        ConnKill(Arc::new(Mutex::new(Mode::Open)))
    }
}

impl ConnKill {
    /// Close the connection without answering: nothing more is written.
    pub fn kill(&self) {
        *self.mode() = Mode::Killed;
    }

    /// Let the answer's head and `keep` bytes of its body out, then close.
    pub fn cut_after(&self, keep: usize) {
        *self.mode() = Mode::Cut {
            keep,
            head_seen: false,
            matched: 0,
        };
    }

    fn mode(&self) -> std::sync::MutexGuard<'_, Mode> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How many of `buf`'s bytes `mode` lets out, and the mode after writing `n` of them.
fn allowed(mode: Mode, buf: &[u8]) -> usize {
    match mode {
        Mode::Open => buf.len(),
        Mode::Killed => 0,
        Mode::Cut { .. } => {
            let mut m = mode;
            let mut n = 0;
            for &byte in buf {
                if matches!(
                    m,
                    Mode::Cut {
                        head_seen: true,
                        keep: 0,
                        ..
                    }
                ) {
                    break;
                }
                m = advance(m, byte);
                n += 1;
            }
            n
        }
    }
}

fn advance(mode: Mode, byte: u8) -> Mode {
    const END: &[u8] = b"\r\n\r\n";
    match mode {
        Mode::Cut {
            keep,
            head_seen: false,
            matched,
        } => {
            let matched = if byte == END[matched] {
                matched + 1
            } else if byte == END[0] {
                1
            } else {
                0
            };
            Mode::Cut {
                keep,
                head_seen: matched == END.len(),
                matched: matched % END.len(),
            }
        }
        Mode::Cut {
            keep,
            head_seen: true,
            matched,
        } => Mode::Cut {
            keep: keep.saturating_sub(1),
            head_seen: true,
            matched,
        },
        other => other,
    }
}

/// What [`KillListener`] reports as a connection's address.
#[derive(Clone, Debug)]
pub struct KillAddr {
    pub peer: SocketAddr,
    pub kill: ConnKill,
}

/// A `tokio::net::TcpListener` for `axum::serve` whose connections a handler can break
/// through `ConnectInfo<ConnKill>` (serve with
/// `into_make_service_with_connect_info::<ConnKill>()`).
pub struct KillListener(pub tokio::net::TcpListener);

impl axum::serve::Listener for KillListener {
    type Io = KillStream;
    type Addr = KillAddr;

    async fn accept(&mut self) -> (KillStream, KillAddr) {
        loop {
            match self.0.accept().await {
                Ok((stream, peer)) => {
                    let kill = ConnKill::default();
                    return (
                        KillStream {
                            inner: stream,
                            kill: kill.clone(),
                        },
                        KillAddr { peer, kill },
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<KillAddr> {
        Ok(KillAddr {
            peer: self.0.local_addr()?,
            kill: ConnKill::default(),
        })
    }
}

impl Connected<IncomingStream<'_, KillListener>> for ConnKill {
    fn connect_info(stream: IncomingStream<'_, KillListener>) -> ConnKill {
        stream.remote_addr().kill.clone()
    }
}

/// A TCP stream that obeys its [`ConnKill`].
pub struct KillStream {
    inner: tokio::net::TcpStream,
    kill: ConnKill,
}

impl KillStream {
    fn dead(&self, reset: bool) -> io::Error {
        if reset {
            let _ = self.inner.set_zero_linger();
        }
        io::Error::new(io::ErrorKind::ConnectionReset, "broken by a fault")
    }
}

impl AsyncRead for KillStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mode = *this.kill.mode();
        match mode {
            Mode::Killed => Poll::Ready(Err(this.dead(true))),
            // A cut answer ends the connection: no further request is read.
            Mode::Cut {
                head_seen: true,
                keep: 0,
                ..
            } => Poll::Ready(Err(this.dead(false))),
            _ => Pin::new(&mut this.inner).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for KillStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mode = *this.kill.mode();
        let n = allowed(mode, buf);
        if n == 0 && !buf.is_empty() {
            return Poll::Ready(Err(this.dead(mode == Mode::Killed)));
        }
        match Pin::new(&mut this.inner).poll_write(cx, &buf[..n]) {
            Poll::Ready(Ok(written)) => {
                let mut guard = this.kill.mode();
                for &byte in &buf[..written] {
                    *guard = advance(*guard, byte);
                }
                Poll::Ready(Ok(written))
            }
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if *this.kill.mode() == Mode::Killed {
            return Poll::Ready(Err(this.dead(true)));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
