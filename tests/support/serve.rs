//! An HTTP app served on a free port of 127.0.0.1, on a thread and tokio runtime of its
//! own, stopped and joined when dropped: the fake Gitea, the git server and the tests'
//! proxies all run this way. Every connection can be broken by its handler
//! (`ConnectInfo<ConnKill>`, see [`KillListener`]).

use std::net::SocketAddr;

use super::fault_schedule::{ConnKill, KillListener};

pub struct Background {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A bound port, not served yet: its address can go into the app's state first.
pub struct Bound {
    name: String,
    listener: std::net::TcpListener,
    addr: SocketAddr,
}

impl Bound {
    /// Bind a free port of 127.0.0.1 for the server `name`.
    pub fn new(name: &str) -> Bound {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("bind 127.0.0.1:0 for {name}: {e}"));
        listener
            .set_nonblocking(true)
            .expect("a nonblocking listener");
        let addr = listener.local_addr().expect("the listener's address");
        Bound {
            name: name.to_owned(),
            listener,
            addr,
        }
    }

    #[allow(dead_code)] // the benches serve without asking first
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serve `app` on a new thread.
    pub fn serve(self, app: axum::Router) -> Background {
        Background::start(self, app)
    }
}

impl Background {
    /// Bind a free port and serve `app` on it.
    pub fn serve(name: &str, app: axum::Router) -> Background {
        Bound::new(name).serve(app)
    }

    fn start(bound: Bound, app: axum::Router) -> Background {
        let Bound {
            name,
            listener,
            addr,
        } = bound;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let label = name.clone();
        let thread = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                runtime.block_on(async move {
                    let listener = KillListener(
                        tokio::net::TcpListener::from_std(listener).expect("a tokio listener"),
                    );
                    let app = app.into_make_service_with_connect_info::<ConnKill>();
                    tokio::select! {
                        result = axum::serve(listener, app) => {
                            if let Err(e) = result {
                                eprintln!("{label} stopped: {e}");
                            }
                        }
                        _ = rx => {}
                    }
                });
                runtime.shutdown_background();
            })
            .unwrap_or_else(|e| panic!("spawn the {name} thread: {e}"));
        Background {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
