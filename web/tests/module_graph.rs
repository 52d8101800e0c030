//! Modules of this crate form no cycle, and the shared state imports no
//! handler (ARCHITECTURE.md): read from the sources' `crate::` and
//! `super::` paths, test modules left out.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// Module path (`app`, `routes::diff`) → source text without its tests.
fn modules() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            let code: String = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(parts.join("::"), code);
        }
    }
    out
}

/// The paths after each `prefix` (`crate::`, `super::`) in `code`, with
/// `{a, b::{c}}` groups expanded.
fn paths(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (start, _) in code.match_indices(prefix) {
        let before = code[..start].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        expand("", &code[start + prefix.len()..], &mut out);
    }
    out
}

/// Reads one path (or group) at the start of `rest`, prefixed with `base`.
fn expand(base: &str, rest: &str, out: &mut Vec<String>) {
    let path_len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(rest.len());
    let path = &rest[..path_len];
    if !rest[path_len..].starts_with('{') {
        out.push(format!("{base}{}", path.trim_end_matches(':')));
        return;
    }
    let group = &rest[path_len + 1..];
    let mut depth = 0;
    let mut item_start = 0;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                expand(&format!("{base}{path}"), group[item_start..i].trim(), out);
                return;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&format!("{base}{path}"), group[item_start..i].trim(), out);
                item_start = i + 1;
            }
            _ => {}
        }
    }
}

/// The longest module that `path` (relative to the crate root) names;
/// `Error` and `Result` are the root's re-exports of `error`.
fn module_of(path: &str, modules: &BTreeMap<String, String>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    if matches!(parts.first(), Some(&("Error" | "Result"))) {
        return Some("error".to_owned());
    }
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|m| modules.contains_key(m))
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let mut graph = BTreeMap::new();
    for (name, code) in &modules {
        let parent = name.rsplit_once("::").map_or("", |(p, _)| p);
        let mut targets: Vec<String> = paths(code, "crate::");
        targets.extend(
            paths(code, "super::")
                .into_iter()
                .map(|p| format!("{parent}::{p}")),
        );
        let edges: BTreeSet<String> = targets
            .iter()
            .filter_map(|p| module_of(p, &modules))
            .filter(|m| m != name && !m.is_empty())
            .collect();
        graph.insert(name.clone(), edges);
    }
    graph.remove("");
    graph
}

/// A cycle through `node`, if any, as the modules along it.
fn cycle(
    graph: &BTreeMap<String, BTreeSet<String>>,
    node: &str,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|p| p == node) {
        let mut found = path[at..].to_vec();
        found.push(node.to_owned());
        return Some(found);
    }
    path.push(node.to_owned());
    for next in graph.get(node).into_iter().flatten() {
        if let Some(found) = cycle(graph, next, path) {
            return Some(found);
        }
    }
    path.pop();
    None
}

#[test]
fn modules_form_no_cycle() {
    let graph = graph();
    // The reading works: edges that exist are found.
    assert!(graph["app"].contains("routes"), "{graph:#?}");
    assert!(graph["routes::diff"].contains("selection"), "{graph:#?}");
    assert!(
        graph["routes::diff"].contains("routes::name_table"),
        "{graph:#?}"
    );
    for node in graph.keys() {
        if let Some(found) = cycle(&graph, node, &mut Vec::new()) {
            panic!("module cycle: {}", found.join(" → "));
        }
    }
}

#[test]
fn shared_state_imports_no_handler() {
    let graph = graph();
    let state = &graph["state"];
    assert!(
        state.iter().all(|m| m != "app" && !m.starts_with("routes")),
        "state imports {state:?}"
    );
}
