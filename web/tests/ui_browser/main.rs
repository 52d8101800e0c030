//! The web UI in a real browser: Debian's headless `chromium`, driven
//! through `chromedriver` (both from scripts/apt-packages.txt), against the
//! real router on a loopback port with data seeded through the ingest API.
//!
//! Screenshots of each step land in `target/ui-screenshots/`.

mod devtools;
mod page;
mod seed;
mod sign_in;
mod views;

use std::{path::Path, time::Instant};

use brasa_profile::{codec, top::top};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use page::{
    assert_nothing_injected, click_id, drag_on_chart, js, open, point_at_frame, run_and_wait,
    screenshot, set_input, table_column, tooltip_name, tooltip_text, wait_for_download, wait_js,
    with_browser, zoomed_frame,
};
use seed::{
    ingest, large_profile, mixed_runtimes, now_nanos, seed, seed_views, start_server, HOSTILE,
    LARGE_PROFILES, LARGE_STACKS, MIXED_RUNTIMES,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_in_headless_chromium() {
    let server = start_server().await;
    seed(&server.base).await;
    let base = server.base.clone();
    with_browser(|client, downloads| async move { steps(&client, &base, &downloads).await }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_signs_in_behind_a_token_file() {
    let server = sign_in::server().await;
    let base = server.base.clone();
    with_browser(|client, _| async move { sign_in::steps(&client, &base).await }).await;
}

async fn steps(client: &Client, base: &str, downloads: &Path) {
    load_default_view(client, base).await;
    profile_types(client, base).await;
    complete_and_query(client).await;
    narrow_range(client).await;
    zoom_search_reset(client).await;
    download_pprof(client, downloads).await;
    hostile_names(client).await;
    diff_view(client, base).await;
    diff_of_time_ranges(client, base).await;
    group_by_label(client, base).await;
    runtime_colours(client, base).await;
    // Profiles of other names, seeded after the steps that list every profile type.
    seed_views(base).await;
    views::deep_first_screen(client, base).await;
    views::group_by_top(client, base).await;
    views::sandwich_and_focus(client, base).await;
    views::state_in_url(client, base).await;
    views::moved_subtree(client, base).await;
    views::hostile_in_new_views(client, base).await;
    views::dark_theme(client, base).await;
    large_selection(client, base).await;
}

/// With no parameters the page picks the profile type and shows the last hour.
async fn load_default_view(client: &Client, base: &str) {
    open(client, &format!("{base}/"), "the first flame graph").await;
    let query = js(client, "return document.getElementById('query').value").await;
    assert_eq!(query, json!("process_cpu"));
    let rows = js(
        client,
        "return window.brasa.flame.rows.filter(Boolean).length",
    )
    .await;
    assert!(rows.as_u64().unwrap() >= 5, "flame graph has {rows} rows");
    let functions = table_column(client, 0).await;
    assert!(
        functions.contains(&"crypto/sha256.block".to_owned()),
        "{functions:?}"
    );
    assert!(functions.contains(&"render".to_owned()), "{functions:?}");
    let points = js(
        client,
        "return window.brasa.page && document.getElementById('chart').width > 0",
    )
    .await;
    assert_eq!(points, json!(true));
    screenshot(client, "01-load").await;

    // CPU by default, in its time unit; the chart in cores.
    assert_eq!(picked_type(client).await, json!(CPU));
    assert_eq!(chart_unit(client).await, json!(["cores", "rate"]));
    assert!(js(client, "return location.search")
        .await
        .as_str()
        .unwrap()
        .contains(&format!("profile_type={}", url_encoded(CPU))));
}

const CPU: &str = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
const SAMPLES: &str = "process_cpu:samples:count:cpu:nanoseconds";
const IN_USE_BYTES: &str = "memory:inuse_space:bytes:space:bytes";

/// The profile type picker: CPU first, a heap type in bytes averaged over
/// the range, the sample counts, each kept in the URL, and an older URL's
/// `sample_type` still understood.
async fn profile_types(client: &Client, base: &str) {
    let options = js(
        client,
        "return [...document.querySelectorAll('#profile-type option')]
           .map(o => [o.value, o.textContent])",
    )
    .await;
    let options: Vec<(String, String)> = serde_json::from_value(options).unwrap();
    assert_eq!(options[0], (CPU.to_owned(), "CPU (process_cpu)".to_owned()));
    let ids: Vec<&str> = options.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            CPU,
            "memory:inuse_objects:count:space:bytes",
            IN_USE_BYTES,
            SAMPLES
        ]
    );
    assert!(options.contains(&(
        IN_USE_BYTES.to_owned(),
        "memory: inuse_space (bytes)".to_owned()
    )));

    // In-use memory: the heap's functions, in bytes, averaged over the range.
    run_and_wait(client, &pick_type(IN_USE_BYTES)).await;
    assert_eq!(
        js(client, "return document.getElementById('query').value").await,
        json!("memory")
    );
    let memory = memory_view(client).await;
    assert_eq!(chart_unit(client).await, json!(["bytes", "gauge"]));
    let chart_text = js(
        client,
        "return document.getElementById('chart-unit').textContent",
    )
    .await;
    assert_eq!(chart_text, json!("in bytes, average per step"));
    let tooltip = tooltip_text(client, "bufferPool.grow").await;
    assert!(tooltip.contains("self: 3.00 MiB (78.05%)"), "{tooltip}");
    assert!(tooltip.contains("average over the range"), "{tooltip}");
    screenshot(client, "01b-memory").await;
    let search = js(client, "return location.search").await;
    assert!(
        search
            .as_str()
            .unwrap()
            .contains(&format!("profile_type={}", url_encoded(IN_USE_BYTES))),
        "{search}"
    );

    // Reloading the URL shows the same type.
    let href = js(client, "return location.href").await;
    open(client, href.as_str().unwrap(), "the reloaded memory view").await;
    assert_eq!(picked_type(client).await, json!(IN_USE_BYTES));
    assert_eq!(memory_view(client).await, memory);

    // A profile name typed into the selector brings its own type: process_cpu
    // holds no in-use memory, so the page opens on its CPU time.
    set_input(client, "query", "process_cpu").await;
    run_and_wait(client, "document.getElementById('run').click()").await;
    assert_eq!(picked_type(client).await, json!(CPU));
    assert_eq!(self_of(client, "parse").await, json!("4.50 s"));

    // Sample counts, plain numbers; the selector follows back to process_cpu.
    run_and_wait(client, &pick_type(SAMPLES)).await;
    assert_eq!(
        js(client, "return document.getElementById('query').value").await,
        json!("process_cpu")
    );
    // (60 + 30) samples in each of the five rounds.
    assert_eq!(self_of(client, "parse").await, json!("450"));
    assert_eq!(chart_unit(client).await, json!(["count/s", "rate"]));

    // A URL of the sample type select that came before the picker.
    open(
        client,
        &format!("{base}/?query=process_cpu&sample_type=samples%2Fcount"),
        "the view of an older URL",
    )
    .await;
    assert_eq!(picked_type(client).await, json!(SAMPLES));
    assert_eq!(self_of(client, "parse").await, json!("450"));
    let search = js(client, "return location.search").await;
    assert!(
        search
            .as_str()
            .unwrap()
            .contains(&format!("profile_type={}", url_encoded(SAMPLES)))
            && !search.as_str().unwrap().contains("sample_type"),
        "{search}"
    );

    run_and_wait(client, &pick_type(CPU)).await;
    assert_eq!(self_of(client, "parse").await, json!("4.50 s"));
    assert_eq!(chart_unit(client).await, json!(["cores", "rate"]));
}

/// What the memory view shows: its functions with their self values, the
/// status line and the note on the values.
async fn memory_view(client: &Client) -> Value {
    let functions = table_column(client, 0).await;
    assert!(
        functions.contains(&"bufferPool.grow".to_owned()),
        "{functions:?}"
    );
    assert!(!functions.contains(&"parse".to_owned()), "{functions:?}");
    assert_eq!(self_of(client, "bufferPool.grow").await, json!("3.00 MiB"));
    assert_eq!(self_of(client, "lru.insert").await, json!("768 KiB"));
    assert_eq!(self_of(client, "decodeJSON").await, json!("96.0 KiB"));
    let status = js(
        client,
        "return document.getElementById('status').textContent",
    )
    .await;
    assert!(
        status
            .as_str()
            .unwrap()
            .starts_with("3 stacks, 3.84 MiB average over the range"),
        "{status}"
    );
    let note = js(
        client,
        "return document.getElementById('value-note').textContent",
    )
    .await;
    assert_eq!(note, json!("inuse_space in bytes, average over the range"));
    json!([
        functions,
        status.as_str().unwrap().split(" in ").next(),
        note
    ])
}

/// A script that picks profile type `id` in the picker, as a user does.
fn pick_type(id: &str) -> String {
    format!(
        "const s = document.getElementById('profile-type');
         s.value = '{id}'; s.dispatchEvent(new Event('change'))"
    )
}

async fn picked_type(client: &Client) -> Value {
    js(
        client,
        "return document.getElementById('profile-type').value",
    )
    .await
}

/// The chart's unit and whether it is a rate or a gauge.
async fn chart_unit(client: &Client) -> Value {
    js(
        client,
        "const u = document.getElementById('chart-unit');
         return [u.dataset.unit, u.dataset.aggregation]",
    )
    .await
}

/// The self column of function `name` in the top functions table.
async fn self_of(client: &Client, name: &str) -> Value {
    let name = serde_json::to_string(name).unwrap();
    js(
        client,
        &format!(
            "const row = [...document.querySelectorAll('#top-table tbody tr')]
               .find(tr => tr.children[0].textContent === {name});
             return row ? row.children[1].textContent : null"
        ),
    )
    .await
}

fn url_encoded(id: &str) -> String {
    id.replace(':', "%3A")
}

/// Label completion in the selector box, then a narrower query.
async fn complete_and_query(client: &Client) {
    set_input(client, "query", "process_cpu{ver").await;
    let options = wait_js(
        client,
        "!document.getElementById('completions').hidden &&
         [...document.querySelectorAll('#completions li')].map(li => li.textContent)",
        "label name completions",
    )
    .await;
    assert_eq!(options, json!(["version"]));
    let input = client.find(Locator::Id("query")).await.unwrap();
    input.send_keys("\u{E004}").await.unwrap(); // Tab accepts the completion.
    assert_eq!(
        js(client, "return document.getElementById('query').value").await,
        json!("process_cpu{version=\"")
    );
    input.send_keys("1.").await.unwrap();
    let values = wait_js(
        client,
        "!document.getElementById('completions').hidden &&
         [...document.querySelectorAll('#completions li')].map(li => li.textContent)",
        "label value completions",
    )
    .await;
    assert_eq!(values, json!(["1.4", "1.5"]));
    input.send_keys("5\"}").await.unwrap();
    screenshot(client, "02-completion").await;
    run_and_wait(client, "document.getElementById('run').click()").await;
    let url = js(client, "return location.search").await;
    assert!(
        url.as_str()
            .unwrap()
            .contains("query=process_cpu%7Bversion%3D%221.5%22%7D"),
        "{url}"
    );
    let functions = table_column(client, 0).await;
    assert!(functions.contains(&"render".to_owned()), "{functions:?}");
    assert!(
        !functions.contains(&"crypto/sha256.block".to_owned()),
        "{functions:?}"
    );
    screenshot(client, "03-query").await;
}

/// Dragging across the chart narrows the range; a preset widens it again.
async fn narrow_range(client: &Client) {
    drag_on_chart(client, 0.3, 0.7).await;
    let range = js(
        client,
        "return [document.getElementById('from').value, document.getElementById('to').value]",
    )
    .await;
    let seconds = js(
        client,
        r"return [document.getElementById('from').value, document.getElementById('to').value]
            .map(t => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(t) ? Date.parse(t) / 1000 : null)",
    )
    .await;
    let from = seconds[0].as_f64().expect("from is RFC 3339");
    let to = seconds[1].as_f64().expect("to is RFC 3339");
    // 40% of the canvas is a little more of the plot, which leaves room for the axis labels.
    assert!((1200.0..1800.0).contains(&(to - from)), "{range}");
    let search = js(client, "return location.search").await;
    assert!(
        search.as_str().unwrap().contains(&format!(
            "from={}",
            range[0].as_str().unwrap().replace(':', "%3A")
        )),
        "{search}"
    );
    screenshot(client, "04-narrowed").await;
    run_and_wait(
        client,
        "document.querySelector('[data-range=\"1h\"]').click()",
    )
    .await;
    assert_eq!(
        js(client, "return document.getElementById('from').value").await,
        json!("now-1h")
    );
}

async fn zoom_search_reset(client: &Client) {
    point_at_frame(client, "handler", true).await;
    let zoomed = wait_js(
        client,
        "document.getElementById('zoom-path').dataset.zoomed",
        "the zoom",
    )
    .await;
    assert_eq!(zoomed, json!("handler"));
    let widths = js(
        client,
        "return [window.brasa.frameCenter('handler').width,
                 document.getElementById('flame').clientWidth]",
    )
    .await;
    assert!(
        (widths[0].as_f64().unwrap() - widths[1].as_f64().unwrap()).abs() < 2.0,
        "a zoomed frame spans the graph: {widths}"
    );
    // gc is not under handler: zooming hides it.
    assert_eq!(
        js(client, "return window.brasa.frameCenter('gc')").await,
        Value::Null
    );
    screenshot(client, "05-zoom").await;

    set_input(client, "search", "pars").await;
    let matches = wait_js(
        client,
        "document.getElementById('search-result').dataset.matches",
        "search results",
    )
    .await;
    assert_eq!(matches, json!("1"));
    let text = js(
        client,
        "return document.getElementById('search-result').textContent",
    )
    .await;
    // parse is 30 of 115 samples in version 1.5.
    assert!(text.as_str().unwrap().contains("26.09%"), "{text}");
    let highlighted = js(
        client,
        "return window.brasa.flame.highlight && window.brasa.flame.highlight.reduce((a, b) => a + b, 0)",
    )
    .await;
    assert_eq!(highlighted, json!(1));
    let tooltip = tooltip_text(client, "parse").await;
    assert!(tooltip.starts_with("parse"), "{tooltip}");
    assert!(tooltip.contains("total: 1.50 s (26.09%)"), "{tooltip}");
    assert!(tooltip.contains("self: 1.50 s (26.09%)"), "{tooltip}");
    screenshot(client, "06-search").await;

    click_id(client, "reset").await;
    assert_eq!(zoomed_frame(client).await, json!(""));
    assert!(js(client, "return window.brasa.frameCenter('gc')")
        .await
        .is_object());
    click_id(client, "orientation").await;
    assert_eq!(
        js(client, "return window.brasa.flame.icicle").await,
        json!(false)
    );
    assert!(js(client, "return location.search")
        .await
        .as_str()
        .unwrap()
        .contains("view=flame"));
    screenshot(client, "07-flame-orientation").await;
    click_id(client, "orientation").await;
    set_input(client, "search", "").await;
}

/// The download link gives the pprof of what is on screen.
async fn download_pprof(client: &Client, downloads: &Path) {
    let link = client
        .find(Locator::Css("#downloads a.download"))
        .await
        .unwrap();
    let href = link.attr("href").await.unwrap().unwrap();
    assert!(href.contains("format=pprof"), "{href}");
    link.click().await.unwrap();
    let bytes = wait_for_download(downloads).await;
    let profile = codec::decode(&bytes).expect("the download is a pprof profile");
    let names: Vec<String> = top(&profile, 0).into_iter().map(|e| e.name).collect();
    assert!(names.contains(&"render".to_owned()), "{names:?}");
    assert!(
        !names.contains(&"crypto/sha256.block".to_owned()),
        "the download holds the selection on screen only: {names:?}"
    );
}

/// A function named like markup is shown as text everywhere and runs nothing.
async fn hostile_names(client: &Client) {
    let functions = table_column(client, 0).await;
    assert!(functions.contains(&HOSTILE.to_owned()), "{functions:?}");
    assert_eq!(tooltip_name(client, HOSTILE).await, json!(HOSTILE));
    // The search is the table's filter.
    set_input(client, "search", "onerror").await;
    assert_eq!(table_column(client, 0).await, vec![HOSTILE.to_owned()]);
    screenshot(client, "08-hostile-name").await;
    set_input(client, "search", "").await;
    assert_nothing_injected(client).await;
}

async fn diff_view(client: &Client, base: &str) {
    js(client, "document.getElementById('mode-diff').click()").await;
    set_input(client, "base", r#"process_cpu{version="1.4"}"#).await;
    set_input(client, "head", r#"process_cpu{version="1.5"}"#).await;
    run_and_wait(client, "document.getElementById('run').click()").await;
    let headers = js(
        client,
        "return [...document.querySelectorAll('#top-table th')].map(th => th.textContent)",
    )
    .await;
    assert_eq!(
        headers,
        json!([
            "function",
            "base self %",
            "head self %",
            "self change (points)",
            "base total %",
            "head total %",
            "total change (points)",
            "views"
        ])
    );
    let functions = table_column(client, 0).await;
    // render rose from 20/105 to 60/115 of the samples, parse fell from 60/105 to 30/115.
    assert_eq!(functions[..2], ["render".to_owned(), "parse".to_owned()]);
    let changes = table_column(client, 3).await;
    assert_eq!(changes[..2], ["+33.13".to_owned(), "-31.06".to_owned()]);
    let classes = js(
        client,
        "return [...document.querySelectorAll('#top-table tbody tr')]
           .slice(0, 2).map(tr => tr.children[3].className)",
    )
    .await;
    assert_eq!(classes, json!(["num grown", "num shrunk"]));
    let tooltip = tooltip_text(client, "render").await;
    assert!(tooltip.contains("change: +33.13 points"), "{tooltip}");
    screenshot(client, "09-diff").await;
    assert_nothing_injected(client).await;

    // The permalink reproduces the diff on a fresh load.
    let permalink = js(client, "return document.getElementById('permalink').href").await;
    let permalink = permalink.as_str().unwrap().to_owned();
    assert!(
        permalink.starts_with(&format!("{base}/?base=")),
        "{permalink}"
    );
    open(client, &permalink, "the permalinked diff").await;
    assert_eq!(
        js(
            client,
            "return document.getElementById('mode-diff').getAttribute('aria-pressed')"
        )
        .await,
        json!("true")
    );
    assert_eq!(
        table_column(client, 0).await[..2],
        ["render".to_owned(), "parse".to_owned()]
    );
}

/// The same selector at two time ranges: per-side ranges from the URL.
async fn diff_of_time_ranges(client: &Client, base: &str) {
    let selector = "process_cpu%7Bversion%3D%221.5%22%7D";
    open(
        client,
        &format!(
            "{base}/?base={selector}&head={selector}&base_from=now-55m&base_to=now-35m\
             &head_from=now-35m&head_to=now"
        ),
        "the diff of two ranges",
    )
    .await;
    assert_eq!(
        js(client, "return document.getElementById('side-ranges').open").await,
        json!(true)
    );
    let status = js(
        client,
        "return document.getElementById('status').textContent",
    )
    .await;
    // Two rounds of version 1.5 before, three after.
    assert!(
        status
            .as_str()
            .unwrap()
            .starts_with("base 2.30 s, head 3.45 s"),
        "{status}"
    );
    // The same shares on both sides: nothing changed.
    assert_eq!(table_column(client, 0).await, Vec::<String>::new());
}

/// Grouping by a label gives a table of totals per value.
async fn group_by_label(client: &Client, base: &str) {
    client
        .goto(&format!("{base}/?query=process_cpu&group_by=version"))
        .await
        .unwrap();
    let rows = wait_js(
        client,
        "document.querySelectorAll('#groups-table tbody tr').length === 3 &&
         [...document.querySelectorAll('#groups-table tbody tr')].map(tr => tr.children[0].textContent)",
        "the group table",
    )
    .await;
    // By total: 1.5 (5.75 s), 1.4 (5.25 s), the Go fixture (2.97 s).
    assert_eq!(rows, json!(["1.5", "1.4", "go"]));
    let graphs = js(
        client,
        "return document.querySelectorAll('#group-graphs canvas').length",
    )
    .await;
    assert_eq!(graphs, json!(3));
    screenshot(client, "10-group-by").await;
}

/// Frames of the kernel, Python and JIT code are coloured apart from native
/// code (by the mapping the agent puts them in), with a legend.
async fn runtime_colours(client: &Client, base: &str) {
    ingest(
        base,
        "service=mixed",
        mixed_runtimes(now_nanos() - 60_000_000_000),
    )
    .await;
    client
        .goto(&format!(
            "{base}/?query={}",
            url_encoded(r#"process_cpu{service="mixed"}"#)
        ))
        .await
        .unwrap();
    let legend = wait_js(
        client,
        "!document.getElementById('kinds-legend').hidden &&
         document.getElementById('kinds-legend').textContent",
        "the legend of frame kinds",
    )
    .await;
    assert_eq!(legend, json!("nativekernelPythonJIT"));
    for (name, mapping) in MIXED_RUNTIMES {
        let colour = js(
            client,
            &format!("return window.brasa.colorOfFrame({})", json!(name)),
        )
        .await;
        let colour = colour.as_str().unwrap_or_default().to_owned();
        let hue = colour
            .strip_prefix("hsl(")
            .and_then(|rest| rest.split(',').next())
            .and_then(|h| h.parse::<u32>().ok());
        let expected = match *mapping {
            Some("[python]") => Some(198..=218),
            Some("[jit]") => Some(105..=135),
            Some("[kernel.kallsyms]") => Some(275..=295),
            _ => None,
        };
        match expected {
            Some(range) => assert!(
                hue.is_some_and(|h| range.contains(&h)),
                "{name}: {colour}, not in {range:?}"
            ),
            None => assert!(colour.starts_with("rgb("), "{name} is native: {colour}"),
        }
    }
    screenshot(client, "12-runtime-colours").await;
}

/// The page draws a selection of 100,000 unique stacks. The time it takes
/// (first paint, and a redraw on zoom and on search) is printed, not
/// asserted: a benchmark, as benches/ measures the server side.
async fn large_selection(client: &Client, base: &str) {
    let now = now_nanos();
    for index in 0..LARGE_PROFILES {
        let time = now - (index as i64 + 1) * 60 * 1_000_000_000;
        ingest(
            base,
            "__name__=large_cpu&service=large",
            large_profile(index, time),
        )
        .await;
    }
    let started = Instant::now();
    open(
        client,
        &format!("{base}/?query=large_cpu"),
        "the large flame graph",
    )
    .await;
    let elapsed = started.elapsed();
    let stacks = js(
        client,
        "return document.getElementById('status').textContent",
    )
    .await;
    assert!(
        stacks
            .as_str()
            .unwrap()
            .starts_with(&format!("{LARGE_STACKS} stacks")),
        "{stacks}"
    );
    let timings = js(client, "return window.brasa.page.timings").await;
    // A zoom and a search, each timed in the page from the event to the
    // redrawn graph and its text equivalent.
    let redraws = js(
        client,
        "const flame = window.brasa.flame; const tree = flame.tree;
         const node = tree.children(tree.children(0)[0]).find(n => tree.nameOf(n) === 'handler_7');
         let t = performance.now(); flame.zoom(node); const zoom = performance.now() - t;
         t = performance.now(); flame.reset(); const unzoom = performance.now() - t;
         const search = document.getElementById('search');
         t = performance.now(); search.value = 'leaf_42'; search.dispatchEvent(new Event('input'));
         const searched = performance.now() - t;
         search.value = ''; search.dispatchEvent(new Event('input'));
         return { zoom, unzoom, search: searched }",
    )
    .await;
    eprintln!(
        "{LARGE_STACKS} unique stacks: page ready {elapsed:?} after navigation; \
         in the page (ms): {timings}; redraws (ms): {redraws}"
    );
    point_at_frame(client, "handler_7", true).await;
    let zoomed = wait_js(
        client,
        "document.getElementById('zoom-path').dataset.zoomed",
        "the zoom into the large graph",
    )
    .await;
    assert_eq!(zoomed, json!("handler_7"));
    screenshot(client, "11-large-zoom").await;
    assert_nothing_injected(client).await;
}
