//! The query client against a real server on a loopback port: a merged
//! profile back, the server's error message on a refusal, a clear error
//! when nothing listens.

use brasa_profile::folded::Folded;
use brasa_store::{labels::Labels, Store, StoreOptions};
use brasa_web::{
    client::{ClientError, QueryClient},
    serve, AppState, ServerOptions,
};

mod common;

/// A server on 127.0.0.1 over a store holding two recent profiles of `api`; it
/// stops when the returned sender is dropped.
fn server() -> (String, tokio::sync::oneshot::Sender<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let labels = Labels::new([("__name__", "process_cpu"), ("service", "api")]).unwrap();
    for (i, text) in ["main;parse 3\n", "main;parse 1\nmain;eval 2\n"]
        .iter()
        .enumerate()
    {
        // Recent: the server deletes what is older than its retention.
        let time =
            brasa_web::time::nanos(std::time::SystemTime::now()) - (2 - i as u64) * 10_000_000_000;
        store
            .ingest(&labels, &common::profile(text, 0), time)
            .unwrap();
    }
    let state = AppState::new(store, ServerOptions::default());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        runtime
            .block_on(serve(listener, state, async move {
                let _ = stopped.await;
            }))
            .unwrap();
    });
    (url, stop, dir)
}

#[test]
fn the_client_merges_what_the_selector_matches() {
    let (url, _stop, _dir) = server();
    let client = QueryClient::new(&format!("{url}/"), None);
    let profile = client
        .profile(r#"{service="api"}"#, Some("now-5m"), None)
        .unwrap();
    let folded = Folded::from_profile(&profile, 0);
    assert_eq!(folded.to_text(), "main;eval 2\nmain;parse 4\n");

    let error = client
        .profile(
            r#"{service="none"}"#,
            Some("1699999990"),
            Some("1700000100"),
        )
        .unwrap_err();
    match &error {
        ClientError::Refused { status, message } => {
            assert_eq!(*status, 404);
            assert!(message.starts_with("no profiles match"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_server_that_is_not_there_is_named() {
    // Nothing listens on a port that was just released by a closed listener.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let error = QueryClient::new(&free, None)
        .profile("{}", None, None)
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(error
        .to_string()
        .starts_with(&format!("no answer from {free}")));
}
