//! Pyroscope compatibility: the Connect push (`/push.v1.PusherService/Push`)
//! that current Pyroscope clients use, and the legacy `/ingest`.

use axum::{
    body::Body,
    extract::{FromRequest, Multipart, Request, State},
    http::{
        header::{CONTENT_ENCODING, CONTENT_TYPE},
        HeaderMap, StatusCode, Uri,
    },
    response::{IntoResponse, Response},
};
use brasa_profile::{
    codec,
    folded::Folded,
    sample_type::{legacy_suffix, LegacySuffix, LEGACY_CPU},
    Profile,
};
use brasa_proto::pyroscope::push::v1::{PushRequest, PushResponse};
use brasa_store::labels::{Labels, NAME_LABEL};
use prost::Message;

use crate::{
    body::read_body,
    ingest::{store, Item, Payload},
    limits::Limits,
    params::Params,
    state::AppState,
    tenant::Tenant,
    Error, Result,
};

/// The Connect content type for protobuf messages.
const PROTO_CONTENT_TYPE: &str = "application/proto";
/// Content types a push may carry a protobuf body with.
const PROTO_CONTENT_TYPES: &[&str] = &[PROTO_CONTENT_TYPE, "application/x-protobuf"];
/// Pyroscope's label for the application.
const SERVICE_LABEL: &str = "service_name";
/// Legacy `/ingest` sample rate when `sampleRate` is absent (Hz).
const DEFAULT_SAMPLE_RATE: u64 = 100;
/// Series labels from a client's pairs: protocol-internal labels
/// (`__session_id__`, `__delta__`...) are dropped, since they change per
/// process start or describe the wire format, not the series; OpenTelemetry
/// style names (`process.runtime.name`) become Prometheus names
/// (`process_runtime_name`), as Prometheus does for OTLP; without a
/// profile name, the profile is named from its sample types at ingest.
fn series_labels(pairs: impl IntoIterator<Item = (String, String)>) -> Result<Labels> {
    let pairs: Vec<(String, String)> = pairs
        .into_iter()
        // Renamed first: a name that only becomes `__…__` once renamed
        // (found by the push fuzz target) is a protocol label too.
        .map(|(n, v)| (prometheus_name(&n), v))
        .filter(|(n, _)| n == NAME_LABEL || !(n.starts_with("__") && n.ends_with("__")))
        .collect();
    Ok(Labels::new(pairs)?)
}

/// `name` with every character outside `[a-zA-Z0-9_]` replaced by `_`,
/// and a leading digit prefixed with `_`.
fn prometheus_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

pub(crate) async fn push(
    State(state): State<AppState>,
    tenant: Tenant,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    const ENDPOINT: &str = "push";
    let items = push_items(&state, &headers, body)
        .await
        .inspect_err(|_| state.metrics().ingest_failed(ENDPOINT))?;
    let bytes = items
        .iter()
        .map(|i| match &i.payload {
            Payload::Pprof(b) => b.len(),
            Payload::Built(_) => 0,
        })
        .sum();
    if !items.is_empty() {
        store(&state, &tenant, ENDPOINT, bytes, items).await?;
    }
    Ok((
        StatusCode::OK,
        [(CONTENT_TYPE, PROTO_CONTENT_TYPE)],
        PushResponse {}.encode_to_vec(),
    )
        .into_response())
}

async fn push_items(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Vec<Item>> {
    let content_type = header(headers, CONTENT_TYPE.as_str());
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.is_empty() && !PROTO_CONTENT_TYPES.contains(&media) {
        return Err(Error::UnsupportedMediaType(format!(
            "content type {media:?} is not supported; send a protobuf PushRequest as {PROTO_CONTENT_TYPE}"
        )));
    }
    let encoding = header(headers, CONTENT_ENCODING.as_str());
    if !matches!(encoding.as_str(), "" | "identity" | "gzip") {
        return Err(Error::UnsupportedMediaType(format!(
            "content encoding {encoding:?} is not supported; use gzip or none"
        )));
    }
    let limits = state.limits();
    let body = read_body(body, limits.max_body_bytes).await?;
    decode_push(&body, limits)
}

/// The profiles of a Connect push body (a `push.v1.PushRequest`, gzip or
/// raw), each with its series labels, within `limits`; each profile's
/// pprof bytes are decoded by [`Item::decode`] when stored.
pub fn decode_push(body: &[u8], limits: &Limits) -> Result<Vec<Item>> {
    // gzip is recognised by its magic bytes whether or not the header says so.
    let raw = codec::maybe_gunzip(body, limits.max_decompressed_bytes)?;
    let request = PushRequest::decode(raw.as_ref())
        .map_err(|e| Error::BadRequest(format!("body is not a push.v1.PushRequest: {e}")))?;
    if request.series.len() > limits.max_series_per_push {
        return Err(Error::BadRequest(format!(
            "{} series in one push; at most {} are accepted",
            request.series.len(),
            limits.max_series_per_push
        )));
    }
    let profiles: usize = request.series.iter().map(|s| s.samples.len()).sum();
    if profiles > limits.max_profiles_per_push {
        return Err(Error::BadRequest(format!(
            "{profiles} profiles in one push; at most {} are accepted",
            limits.max_profiles_per_push
        )));
    }
    let mut items = Vec::with_capacity(profiles);
    for series in request.series {
        let labels = series_labels(series.labels.into_iter().map(|l| (l.name, l.value)))?;
        for sample in series.samples {
            items.push(Item {
                labels: labels.clone(),
                payload: Payload::Pprof(sample.raw_profile),
                time_nanos: None,
            });
        }
    }
    Ok(items)
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub(crate) async fn legacy_ingest(
    State(state): State<AppState>,
    tenant: Tenant,
    params: Params,
    request: Request,
) -> Result<axum::Json<crate::ingest::Stored>> {
    const ENDPOINT: &str = "legacy_ingest";
    let (item, bytes) = legacy_item(&state, params, request)
        .await
        .inspect_err(|_| state.metrics().ingest_failed(ENDPOINT))?;
    store(&state, &tenant, ENDPOINT, bytes, vec![item])
        .await
        .map(axum::Json)
}

async fn legacy_item(state: &AppState, params: Params, request: Request) -> Result<(Item, usize)> {
    let legacy = LegacyRequest::new(&params)?;
    let body = legacy_body(state, request).await?;
    let bytes = body.len();
    let item = legacy.item(body, state.limits().max_decompressed_bytes)?;
    Ok((item, bytes))
}

/// The profile a legacy `/ingest` request sends: the query parameters of
/// `uri` (`name=app.cpu{k=v}`, `from`, `until`, `format`, `sampleRate`)
/// applied to the profile bytes of its `body` (multipart already
/// unwrapped), decompressed up to `max_decompressed_bytes`.
pub fn decode_legacy_ingest(
    uri: &Uri,
    body: Vec<u8>,
    max_decompressed_bytes: usize,
) -> Result<Item> {
    LegacyRequest::new(&Params::from_uri(uri)?)?.item(body, max_decompressed_bytes)
}

/// What the query parameters of a legacy `/ingest` say.
struct LegacyRequest {
    labels: Labels,
    suffix: Option<LegacySuffix>,
    /// `from` and `until`, unix seconds.
    range: (Option<u64>, Option<u64>),
    /// `sampleRate`, Hz.
    rate: u64,
    format: String,
}

impl LegacyRequest {
    fn new(params: &Params) -> Result<Self> {
        let name = params.get("name").ok_or_else(|| {
            Error::BadRequest("missing `name` (e.g. name=app.cpu{env=prod})".to_owned())
        })?;
        let (labels, suffix) = parse_legacy_name(name)?;
        let labels = series_labels(labels)?;
        let seconds = |v: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("must be unix seconds, got {v:?}"))
        };
        let from = params.parse("from", seconds)?;
        let until = params.parse("until", seconds)?;
        let rate = params
            .parse("sampleRate", |r| {
                r.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|&r| r > 0)
                    .ok_or_else(|| format!("must be a positive integer (Hz), got {r:?}"))
            })?
            .unwrap_or(DEFAULT_SAMPLE_RATE);
        let format = params.get("format").unwrap_or("folded").to_owned();
        Ok(Self {
            labels,
            suffix,
            range: (from, until),
            rate,
            format,
        })
    }

    /// The item to store from the profile bytes `body`.
    fn item(self, body: Vec<u8>, max_decompressed_bytes: usize) -> Result<Item> {
        let payload = match self.format.as_str() {
            "pprof" => Payload::Pprof(body),
            "folded" | "lines" => {
                let raw = codec::maybe_gunzip(&body, max_decompressed_bytes)?;
                let text = std::str::from_utf8(&raw)
                    .map_err(|_| Error::BadRequest("folded body is not UTF-8 text".to_owned()))?;
                let folded = Folded::parse(text)?;
                let suffix = self.suffix.unwrap_or(LEGACY_CPU);
                let profile = legacy_profile(&folded, &suffix, self.rate, self.range);
                Payload::Built(Box::new(profile))
            }
            other => {
                return Err(Error::BadRequest(format!(
                    "format {other:?} is not supported; use format=pprof or format=folded"
                )))
            }
        };
        Ok(Item {
            labels: self.labels,
            payload,
            time_nanos: self.range.0.map(|s| s.saturating_mul(1_000_000_000)),
        })
    }
}

/// The profile bytes: the body itself, or the `profile` part of a
/// multipart form (what Pyroscope's Go client sends).
async fn legacy_body(state: &AppState, request: Request) -> Result<Vec<u8>> {
    let content_type = header(request.headers(), CONTENT_TYPE.as_str());
    if !content_type.starts_with("multipart/form-data") {
        let limit = state.limits().max_body_bytes;
        return Ok(read_body(request.into_body(), limit).await?.to_vec());
    }
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|e| Error::BadRequest(format!("malformed multipart body: {}", e.body_text())))?;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| Error::BadRequest(format!("malformed multipart body: {}", e.body_text())))?
    {
        if field.name() == Some("profile") {
            let bytes = field.bytes().await.map_err(|e| {
                Error::BadRequest(format!("cannot read the `profile` part: {}", e.body_text()))
            })?;
            return Ok(bytes.to_vec());
        }
    }
    Err(Error::BadRequest(
        "multipart body has no `profile` part".to_owned(),
    ))
}

/// The profile of folded stacks sent under `suffix`: amounts keep their
/// values in the suffix's sample type; sample counts (CPU, wall time) keep
/// `samples/count` and gain the time they stand for, one period of
/// `1e9 / rate` ns each.
fn legacy_profile(
    folded: &Folded,
    suffix: &LegacySuffix,
    rate: u64,
    (from, until): (Option<u64>, Option<u64>),
) -> Profile {
    let period = (1_000_000_000 / rate.max(1)) as i64;
    let mut builder = if suffix.counts_samples {
        brasa_profile::ProfileBuilder::new(&[("samples", "count"), suffix.sample])
    } else {
        brasa_profile::ProfileBuilder::new(&[suffix.sample])
    };
    builder.set_period(
        suffix.period.0,
        suffix.period.1,
        if suffix.counts_samples { period } else { 1 },
    );
    if let Some(from) = from {
        let duration = until.filter(|&u| u > from).map_or(0, |u| u - from);
        builder.set_time(
            from.saturating_mul(1_000_000_000) as i64,
            duration.saturating_mul(1_000_000_000) as i64,
        );
    }
    let mut locations = Vec::new();
    for (stack, &count) in &folded.stacks {
        locations.clear();
        for frame in stack.split(brasa_profile::folded::FRAME_SEPARATOR).rev() {
            let function_id = builder.function(brasa_profile::builder::FunctionInfo {
                name: frame,
                ..Default::default()
            });
            let line = brasa_proto::pprof::Line {
                function_id,
                ..Default::default()
            };
            locations.push(builder.location(0, 0, &[line]));
        }
        if suffix.counts_samples {
            builder.add_sample(&locations, &[count, count.saturating_mul(period)], &[]);
        } else {
            builder.add_sample(&locations, &[count], &[]);
        }
    }
    builder.build()
}

/// Label pairs, in the order given.
type Pairs = Vec<(String, String)>;

/// Splits `app.cpu{k=v,k2=v2}` into labels (`service_name=app`, the
/// profile name from the suffix, and the tags) and what the suffix says.
fn parse_legacy_name(name: &str) -> Result<(Pairs, Option<LegacySuffix>)> {
    let bad = |reason: &str| {
        Error::BadRequest(format!(
            "invalid name {name:?}: {reason} (expected app.cpu{{key=value,...}})"
        ))
    };
    let (app, tags) = match name.split_once('{') {
        Some((app, rest)) => (
            app,
            rest.strip_suffix('}')
                .ok_or_else(|| bad("missing closing `}`"))?,
        ),
        None => (name, ""),
    };
    // `app.inuse_space` names its kind; a bare `app` is named from the
    // profile's sample types at ingest (folded stacks: CPU).
    let (service, suffix) = match app.rsplit_once('.') {
        Some((service, suffix)) => match legacy_suffix(suffix) {
            Some(known) => (service, Some(known)),
            None => (app, None),
        },
        None => (app, None),
    };
    if service.is_empty() {
        return Err(bad("empty application name"));
    }
    let mut labels = vec![(SERVICE_LABEL.to_owned(), service.to_owned())];
    labels.extend(suffix.map(|s| (NAME_LABEL.to_owned(), s.name.to_owned())));
    for tag in tags.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (k, v) = tag
            .split_once('=')
            .ok_or_else(|| bad(&format!("tag {tag:?} has no `=`")))?;
        labels.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    Ok((labels, suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_names() {
        let (labels, suffix) = parse_legacy_name("my.app.cpu{env=prod, region=eu}").unwrap();
        assert_eq!(suffix, Some(LEGACY_CPU));
        assert_eq!(
            labels,
            [
                ("service_name".into(), "my.app".into()),
                ("__name__".into(), "process_cpu".into()),
                ("env".into(), "prod".into()),
                ("region".into(), "eu".into()),
            ]
        );
        let (labels, _) = parse_legacy_name("svc.alloc_space").unwrap();
        assert_eq!(labels[1], ("__name__".into(), "memory".into()));
        // Without a known suffix, the name comes from the sample types.
        let (labels, suffix) = parse_legacy_name("svc.v2").unwrap();
        assert_eq!(labels, [("service_name".into(), "svc.v2".into())]);
        assert_eq!(suffix, None);
        assert_eq!(parse_legacy_name("plain").unwrap().0[0].1, "plain");
        for bad in ["app.cpu{env=prod", "app.cpu{env}", ".cpu"] {
            assert!(parse_legacy_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn protocol_labels_are_dropped() {
        let labels = series_labels([
            ("service_name".to_owned(), "api".to_owned()),
            ("__session_id__".to_owned(), "123".to_owned()),
            ("process.runtime.name".to_owned(), "cpython".to_owned()),
            ("9lives".to_owned(), "cat".to_owned()),
        ])
        .unwrap();
        assert_eq!(
            labels.iter().collect::<Vec<_>>(),
            [
                ("_9lives", "cat"),
                ("process_runtime_name", "cpython"),
                ("service_name", "api")
            ]
        );
    }
}
