//! The bearer token of an EKS cluster, checked as aws-iam-authenticator (`pkg/token`) checks it: a presigned
//! GetCallerIdentity URL of the emulator's STS with the cluster's name signed in, whose signature is checked here
//! (moto's STS checks none) and which is then called to learn the caller.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings};
use aws_sigv4::sign::v4;
use base64::Engine;
use lambdas::kubernetes::{CLUSTER_ID_HEADER, TOKEN_PREFIX};
use serde_json::Value;

use super::decode;
use crate::loopback;

/// "presignedURLExpiration = 15 * time.Minute" (aws-iam-authenticator): a token is good this long after its date.
const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// aws-iam-authenticator refuses a token longer than this ("maxTokenLenBytes = 1024 * 4").
const MAX_TOKEN_BYTES: usize = 4 * 1024;
/// The only query parameters a presigned URL may carry (aws-iam-authenticator's `parameterWhitelist`).
const PARAMETERS: [&str; 9] = [
    "action",
    "version",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-security-token",
    "x-amz-signature",
    "x-amz-signedheaders",
];

/// The caller's canonical ARN and the access key that signed the token, or why the token is refused.
pub(super) async fn verify(
    token: &str,
    cluster: &str,
    sts: SocketAddr,
    trusted: &BTreeMap<String, Credentials>,
) -> Result<(String, String), String> {
    let url = presigned_url(token)?;
    let (host_and_path, query) = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split_once('?'))
        .ok_or("unexpected scheme or no query in the pre-signed URL")?;
    if host_and_path != format!("{sts}/") {
        return Err(format!(
            "unexpected hostname or path {host_and_path:?} in pre-signed URL"
        ));
    }
    let params = query_params(query)?;
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    if param("action") != "GetCallerIdentity" {
        return Err("unexpected action parameter in pre-signed URL".into());
    }
    if !param("x-amz-signedheaders")
        .split(';')
        .any(|h| h.eq_ignore_ascii_case(CLUSTER_ID_HEADER))
    {
        return Err(format!(
            "client did not sign the {CLUSTER_ID_HEADER} header in the pre-signed URL"
        ));
    }
    let expires: u64 = param("x-amz-expires")
        .parse()
        .map_err(|_| "invalid X-Amz-Expires parameter")?;
    if expires > 900 {
        return Err(format!(
            "invalid X-Amz-Expires parameter in pre-signed URL: {expires}"
        ));
    }
    let date = parse_amz_date(param("x-amz-date"))
        .ok_or("X-Amz-Date parameter must be present in pre-signed URL")?;
    if SystemTime::now() > date + TOKEN_LIFETIME {
        return Err("X-Amz-Date parameter is expired (15 minute expiration)".into());
    }
    // What STS checks and moto does not: the signature, for this cluster's name in `x-k8s-aws-id`.
    let mut scope = param("x-amz-credential").split('/');
    let key = scope.next().unwrap_or_default();
    let region = scope.nth(1).unwrap_or_default();
    let credentials = trusted
        .get(key)
        .ok_or("InvalidClientTokenId: the security token included in the request is invalid")?;
    let unsigned = format!(
        "http://{sts}/?Action=GetCallerIdentity&Version={}",
        param("version")
    );
    if presign(&unsigned, cluster, credentials, region, date, expires)? != param("x-amz-signature")
    {
        return Err("SignatureDoesNotMatch: the request signature we calculated does not match the signature you provided".into());
    }
    let arn = caller(sts, &url, cluster).await?;
    Ok((arn, key.to_owned()))
}

/// The URL a token holds.
fn presigned_url(token: &str) -> Result<String, String> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err("token is too large".into());
    }
    let encoded = token
        .strip_prefix(TOKEN_PREFIX)
        .ok_or_else(|| format!("token is missing expected {TOKEN_PREFIX:?} prefix"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// The query's parameters by lowercase name: only those a presigned GetCallerIdentity URL carries, once each.
fn query_params(query: &str) -> Result<BTreeMap<String, String>, String> {
    let mut params = BTreeMap::new();
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(name).to_ascii_lowercase();
        if !PARAMETERS.contains(&name.as_str()) {
            return Err(format!("non-whitelisted query parameter {name:?}"));
        }
        if params.insert(name, decode(value)).is_some() {
            return Err("query parameter with multiple values not supported".into());
        }
    }
    Ok(params)
}

/// `20261208T001500Z`.
fn parse_amz_date(date: &str) -> Option<SystemTime> {
    let parsed = aws_smithy_types::DateTime::from_str(
        &format!(
            "{}-{}-{}T{}:{}:{}Z",
            date.get(0..4)?,
            date.get(4..6)?,
            date.get(6..8)?,
            date.get(9..11)?,
            date.get(11..13)?,
            date.get(13..15)?
        ),
        aws_smithy_types::date_time::Format::DateTime,
    )
    .ok()?;
    SystemTime::try_from(parsed).ok()
}

/// The signature of `url` presigned as the token's client did it, with this cluster's name signed in.
fn presign(
    url: &str,
    cluster: &str,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
    expires: u64,
) -> Result<String, String> {
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(expires));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let headers = [(CLUSTER_ID_HEADER, cluster)];
    let signable = SignableRequest::new("GET", url, headers.into_iter(), SignableBody::Bytes(&[]))
        .map_err(|e| e.to_string())?;
    let (_, signature) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(signature)
}

/// Calls the presigned URL as the authenticator does, with the cluster's name in `x-k8s-aws-id`, and reads the
/// caller's ARN from STS's answer; an assumed role's session ARN is read as the role's. moto reads the service
/// and caller of such a URL only through the front (`moto_gaps`), and checks no signature, which [`presign`] did.
async fn caller(sts: SocketAddr, url: &str, cluster: &str) -> Result<String, String> {
    let path = url
        .split_once(&format!("{sts}"))
        .map_or("/", |(_, path)| path);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {sts}\r\n{CLUSTER_ID_HEADER}: {cluster}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    let raw = loopback::exchange(sts, request.as_bytes())
        .await
        .map_err(|e| format!("error during GET: {e}"))?;
    let answer = loopback::Response::parse(&raw).ok_or("error reading HTTP result")?;
    let body = String::from_utf8_lossy(&answer.body);
    if answer.status != 200 {
        return Err(format!(
            "error from AWS (expected 200, got {}). Body: {body}",
            answer.status
        ));
    }
    let arn = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|json| {
            json["GetCallerIdentityResponse"]["GetCallerIdentityResult"]["Arn"]
                .as_str()
                .map(str::to_owned)
        })
        .or_else(|| {
            Some(
                body.split_once("<Arn>")?
                    .1
                    .split_once("</Arn>")?
                    .0
                    .to_owned(),
            )
        })
        .ok_or_else(|| format!("STS named no caller: {body}"))?;
    Ok(canonical(&arn))
}

/// `arn:aws:sts::123456789012:assumed-role/web/session` → `arn:aws:iam::123456789012:role/web`.
fn canonical(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "sts", "", account, resource]
            if resource.starts_with("assumed-role/") =>
        {
            let role = resource.split('/').nth(1).unwrap_or_default();
            format!("arn:{partition}:iam::{account}:role/{role}")
        }
        _ => arn.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_role_sessions_are_their_roles_and_dates_are_read() {
        assert_eq!(
            canonical("arn:aws:sts::123456789012:assumed-role/web/s1"),
            "arn:aws:iam::123456789012:role/web"
        );
        assert_eq!(
            canonical("arn:aws:iam::123456789012:user/ops"),
            "arn:aws:iam::123456789012:user/ops"
        );
        assert!(parse_amz_date("20261208T001500Z").is_some());
        assert!(parse_amz_date("2026").is_none());
        assert!(query_params("Action=GetCallerIdentity&Other=1").is_err());
    }
}
