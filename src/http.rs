//! A plain HTTP(S) client over the hyper/rustls (ring) stack kube already builds, for the small
//! JSON APIs we call ourselves (Prometheus). Bodies are read up to a limit; nothing retries here.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A client for `url`: native roots for `https://`, plain HTTP otherwise.
///
/// # Errors
/// When `https://` is asked for and the system has no root certificates.
pub fn client(url: &str) -> Result<Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>, String> {
    // One process-wide provider: ring, as kube and octocrab use (design §12).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = if url.starts_with("https://") {
        builder.with_native_roots().map_err(|e| format!("no TLS root certificates: {e}"))?
    } else {
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        builder.with_tls_config(tls)
    };
    let connector = builder.https_or_http().enable_http1().build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// Credentials for a request, never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Auth {
    /// None.
    #[default]
    None,
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// `Authorization: Basic base64(user:password)`.
    Basic(String, String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::None => "Auth::None",
            Auth::Bearer(_) => "Auth::Bearer(..)",
            Auth::Basic(..) => "Auth::Basic(..)",
        })
    }
}

/// `GET url` within `timeout`, the body read up to `max_body` bytes.
///
/// # Errors
/// A message naming what failed (never the credentials).
pub async fn get(
    client: &Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
    url: &str,
    auth: &Auth,
    timeout: Duration,
    max_body: usize,
) -> Result<(StatusCode, Bytes), String> {
    let mut req = Request::get(url).header(header::ACCEPT, "application/json");
    let value = match auth {
        Auth::None => None,
        Auth::Bearer(t) => Some(format!("Bearer {t}")),
        Auth::Basic(u, p) => Some(format!("Basic {}", STANDARD.encode(format!("{u}:{p}")))),
    };
    if let Some(value) = value {
        let Ok(mut value) = header::HeaderValue::from_str(&value) else {
            return Err("the credentials are not a valid header value".to_string());
        };
        value.set_sensitive(true);
        req = req.header(header::AUTHORIZATION, value);
    }
    let req = req.body(Empty::new()).map_err(|_| "invalid URL".to_string())?;
    let call = async {
        let resp = client.request(req).await.map_err(|e| format!("cannot connect: {e}"))?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), max_body)
            .collect()
            .await
            .map_err(|e| format!("cannot read the answer (over {} MiB?): {e}", max_body >> 20))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, call).await.map_err(|_| format!("no answer within {} s", timeout.as_secs_f64()))?
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay).
#[must_use]
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_keeps_unreserved_only() {
        assert_eq!(encode("rate(x{a!=\"\"}[5m])"), "rate%28x%7Ba%21%3D%22%22%7D%5B5m%5D%29");
    }
}
