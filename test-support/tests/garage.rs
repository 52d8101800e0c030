//! The Garage cluster of `brasa_test_support::garage` serves S3 as the
//! tests of shared buckets need: objects written through one node are
//! read and listed through the others, with a node down and once it has
//! been restarted.

use std::time::Instant;

use brasa_test_support::garage::Garage;

#[test]
fn one_node_stores_and_keeps_objects_across_a_restart() {
    let started = Instant::now();
    let garage = Garage::start(1);
    eprintln!("a 1-node Garage cluster started in {:?}", started.elapsed());

    assert_eq!(garage.endpoints(), [garage.endpoint()]);
    assert_eq!(garage.region(), "garage");
    assert_eq!(garage.bucket(), "brasa");
    assert!(garage.access_key().starts_with("GK") && garage.access_key().len() == 26);
    assert_eq!(garage.secret_key().len(), 64);
    assert_eq!(
        garage.storage_url("prod/eu"),
        format!(
            "s3://brasa/prod/eu?endpoint={}&region=garage",
            garage.endpoint()
        )
    );
    let env = garage.env();
    assert!(env.contains(&("AWS_ACCESS_KEY_ID".into(), garage.access_key().into())));
    assert!(env.contains(&("AWS_SECRET_ACCESS_KEY".into(), garage.secret_key().into())));
    assert!(env.contains(&("AWS_REGION".into(), "garage".into())));

    let bytes: Vec<u8> = (0..=255).collect();
    garage.put(0, "one/a.bin", &bytes);
    assert_eq!(garage.get(0, "one/a.bin"), bytes);
    assert_eq!(garage.keys("one/"), ["one/a.bin"]);
    let (status, _) = garage.request(0, "GET", "one/missing", None);
    assert_eq!(status, 404);

    // The key is the one Garage granted the bucket to.
    let info = garage
        .cli(0)
        .args(["bucket", "info", "brasa"])
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.lines()
            .any(|l| l.contains("RWO") && l.contains(garage.access_key())),
        "{info}"
    );

    garage.stop_node(0);
    let (status, _) = garage.request(0, "GET", "one/a.bin", None);
    assert_eq!(status, 0, "a stopped node answers nothing");
    garage.start_node(0);
    assert_eq!(garage.get(0, "one/a.bin"), bytes);
}

#[test]
fn three_nodes_serve_with_one_node_down() {
    let started = Instant::now();
    let garage = Garage::start(3);
    eprintln!("a 3-node Garage cluster started in {:?}", started.elapsed());
    assert_eq!(garage.endpoints().len(), 3);
    assert_eq!(garage.endpoints()[0], garage.endpoint());

    garage.put(0, "three/a.txt", b"before");
    garage.stop_node(1);
    let read = Instant::now();
    assert_eq!(garage.get(2, "three/a.txt"), b"before");
    eprintln!(
        "read through node 3 just after node 2 was killed: {:?}",
        read.elapsed()
    );
    let settled = Instant::now();
    garage.settle();
    eprintln!("nodes 1 and 3 noticed after {:?}", settled.elapsed());
    // Two of three nodes are a majority: writes go on too.
    garage.put(0, "three/b.txt", b"while down");
    assert_eq!(garage.keys("three/"), ["three/a.txt", "three/b.txt"]);

    let restarted = Instant::now();
    garage.start_node(1);
    eprintln!("node 2 restarted in {:?}", restarted.elapsed());
    // It missed the second write and reads it from the others.
    assert_eq!(garage.get(1, "three/a.txt"), b"before");
    assert_eq!(garage.get(1, "three/b.txt"), b"while down");
    let (status, body) = garage.request(1, "GET", "?list-type=2&prefix=three%2F", None);
    assert_eq!(status, 200);
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains("<Key>three/a.txt</Key>") && body.contains("<Key>three/b.txt</Key>"),
        "{body}"
    );
}
