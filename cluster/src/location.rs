//! `--storage s3://BUCKET/PREFIX?endpoint=URL&region=R` and the
//! credentials: parsed here and nowhere else.

use std::{path::Path, sync::Arc, time::Duration};

use object_store::{
    aws::AmazonS3Builder, path::Path as Key, BackoffConfig, ClientOptions, ObjectStore, RetryConfig,
};

use crate::{Error, Result};

/// Region when the URL names none: what most S3-compatible stores accept.
pub const DEFAULT_REGION: &str = "us-east-1";
/// Longest one request to the bucket may take: a segment upload that
/// hangs longer fails, and its pushes are answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Retries of one request on a 5xx or a lost connection.
pub const REQUEST_RETRIES: usize = 2;

/// A parsed `--storage` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The bucket.
    pub bucket: String,
    /// Where Brasa's objects go inside it (no leading or trailing `/`).
    pub prefix: String,
    /// The S3 endpoint, `None` for AWS itself.
    pub endpoint: Option<String>,
    /// The region.
    pub region: String,
}

impl Location {
    /// Parses `s3://BUCKET/PREFIX?endpoint=URL&region=R`.
    ///
    /// # Errors
    /// [`Error::BadUrl`] saying what is wrong.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::BadUrl {
            url: text.to_owned(),
            reason: reason.to_owned(),
        };
        let url = url::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
        if url.scheme() != "s3" {
            return Err(bad("only s3:// is supported"));
        }
        let bucket = url
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| bad("the bucket is missing"))?
            .to_owned();
        let prefix = url.path().trim_matches('/').to_owned();
        let mut endpoint = None;
        let mut region = DEFAULT_REGION.to_owned();
        for (name, value) in url.query_pairs() {
            match &*name {
                "endpoint" => {
                    let parsed = url::Url::parse(&value)
                        .map_err(|e| bad(&format!("endpoint {value:?}: {e}")))?;
                    if !matches!(parsed.scheme(), "http" | "https") {
                        return Err(bad("the endpoint must be an http:// or https:// URL"));
                    }
                    endpoint = Some(value.trim_end_matches('/').to_owned());
                }
                "region" => region = value.into_owned(),
                other => return Err(bad(&format!("unknown parameter {other:?}"))),
            }
        }
        Ok(Self {
            bucket,
            prefix,
            endpoint,
            region,
        })
    }

    /// The prefix as an object key.
    pub fn prefix_key(&self) -> Key {
        Key::from(self.prefix.as_str())
    }

    /// A client for the bucket, with `credentials`.
    ///
    /// # Errors
    /// [`Error::Bucket`] when the client cannot be built.
    pub fn open(&self, credentials: &Credentials) -> Result<Arc<dyn ObjectStore>> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_access_key_id(&credentials.key_id)
            .with_secret_access_key(&credentials.secret)
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(REQUEST_TIMEOUT)
                    .with_connect_timeout(Duration::from_secs(2)),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(50),
                    max_backoff: Duration::from_millis(500),
                    base: 2.0,
                },
                max_retries: REQUEST_RETRIES,
                retry_timeout: REQUEST_TIMEOUT * 2,
            });
        if let Some(endpoint) = &self.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(|source| Error::Bucket {
            key: self.bucket.clone(),
            source,
        })?;
        Ok(Arc::new(store))
    }
}

/// An access key for the bucket.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// From `file` when given (lines `AWS_ACCESS_KEY_ID=...` and
    /// `AWS_SECRET_ACCESS_KEY=...`, `#` comments), else from the
    /// environment variables of the same names.
    ///
    /// # Errors
    /// [`Error::NoCredentials`], or the file's errors.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| {
                    Error::CredentialsUnreadable {
                        path: path.display().to_string(),
                        source,
                    }
                })?;
                Self::parse(&text).map_err(|reason| Error::Credentials {
                    path: path.display().to_string(),
                    reason,
                })
            }
            None => match (
                std::env::var("AWS_ACCESS_KEY_ID"),
                std::env::var("AWS_SECRET_ACCESS_KEY"),
            ) {
                (Ok(key_id), Ok(secret)) if !key_id.is_empty() && !secret.is_empty() => {
                    Ok(Self { key_id, secret })
                }
                _ => Err(Error::NoCredentials),
            },
        }
    }

    /// Parses a credentials file's text.
    fn parse(text: &str) -> Result<Self, String> {
        let (mut key_id, mut secret) = (None, None);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line
                .split_once('=')
                .ok_or_else(|| format!("line {}: expected NAME=VALUE", n + 1))?;
            let value = value.trim().trim_matches('"').to_owned();
            match name.trim() {
                "AWS_ACCESS_KEY_ID" => key_id = Some(value),
                "AWS_SECRET_ACCESS_KEY" => secret = Some(value),
                other => return Err(format!("line {}: unknown name {other:?}", n + 1)),
            }
        }
        match (key_id, secret) {
            (Some(key_id), Some(secret)) if !key_id.is_empty() && !secret.is_empty() => {
                Ok(Self { key_id, secret })
            }
            _ => Err("it needs both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_urls_parse() {
        let l = Location::parse("s3://brasa/prod/eu?endpoint=http://127.0.0.1:3900/&region=garage")
            .unwrap();
        assert_eq!(
            l,
            Location {
                bucket: "brasa".into(),
                prefix: "prod/eu".into(),
                endpoint: Some("http://127.0.0.1:3900".into()),
                region: "garage".into(),
            }
        );
        let l = Location::parse("s3://b").unwrap();
        assert_eq!((l.prefix.as_str(), l.region.as_str()), ("", DEFAULT_REGION));
        for bad in [
            "gs://b/p",
            "s3:///p",
            "s3://b/p?endpoint=ftp://x",
            "s3://b/p?colour=red",
            "not a url",
        ] {
            let e = Location::parse(bad).unwrap_err().to_string();
            assert!(e.contains("s3://BUCKET/PREFIX"), "{bad}: {e}");
        }
    }

    #[test]
    fn credentials_files_parse() {
        let c = Credentials::parse(
            "# garage key\nAWS_ACCESS_KEY_ID=GK1\nAWS_SECRET_ACCESS_KEY = \"s\"\n",
        )
        .unwrap();
        assert_eq!((c.key_id.as_str(), c.secret.as_str()), ("GK1", "s"));
        assert!(!format!("{c:?}").contains("\"s\""));
        assert!(Credentials::parse("AWS_ACCESS_KEY_ID=GK1\n").is_err());
        assert!(Credentials::parse("KEY GK1\n").is_err());
    }
}
