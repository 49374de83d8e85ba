//! Stage 3, identify (mTLS): what a verified client certificate says.
//!
//! The TLS stage has already verified the chain against the client CA (and the CRL); this
//! module only reads the subject (CN, OU) and the SANs from the DER rustls hands out, once
//! per connection. It never decides trust.

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::CertUserFrom;

/// The identity-relevant parts of a verified client certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCert {
    pub cn: Option<String>,
    /// Organizational units of the subject: the department.
    pub ous: Vec<String>,
    pub emails: Vec<String>,
    pub dns_names: Vec<String>,
    pub uris: Vec<String>,
}

impl ClientCert {
    /// Read a DER certificate. A certificate that does not parse, or holds a non-UTF-8 name,
    /// is refused (the caller closes the connection).
    pub fn parse(der: &[u8]) -> Result<ClientCert, String> {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| format!("client certificate does not parse: {e}"))?;
        let text = |r: Result<&str, _>| -> Result<String, String> {
            r.map(str::to_string)
                .map_err(|_| "client certificate subject is not text".to_string())
        };
        let subject = cert.subject();
        let cns = subject
            .iter_common_name()
            .map(|a| text(a.as_str()))
            .collect::<Result<Vec<_>, _>>()?;
        if cns.len() > 1 {
            // Two CNs: which one is the user? Refuse rather than guess.
            return Err("client certificate has more than one CN".into());
        }
        let ous = subject
            .iter_organizational_unit()
            .map(|a| text(a.as_str()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = ClientCert {
            cn: cns.into_iter().next(),
            ous,
            ..ClientCert::default()
        };
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::RFC822Name(e) => out.emails.push((*e).to_string()),
                    GeneralName::DNSName(d) => out.dns_names.push((*d).to_string()),
                    GeneralName::URI(u) => out.uris.push((*u).to_string()),
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// The user id under the configured mapping; `None` when that part is absent or empty.
    pub fn user(&self, from: CertUserFrom) -> Option<String> {
        let id = match from {
            CertUserFrom::Cn => self.cn.clone(),
            CertUserFrom::SanEmail => self
                .emails
                .first()
                .and_then(|e| e.split_once('@'))
                .map(|(local, _)| local.to_string()),
            CertUserFrom::SanDns => self.dns_names.first().cloned(),
            CertUserFrom::SanUri => self.uris.first().cloned(),
        }?;
        (!id.is_empty()).then_some(id)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn dev_client_certificates_name_user_and_department() {
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/certs/client-rudolph.pem"
        ))
        .unwrap();
        use rustls_pki_types::pem::PemObject;
        let der = rustls_pki_types::CertificateDer::from_pem_slice(&pem).unwrap();
        let c = ClientCert::parse(&der).unwrap();
        assert_eq!(c.user(CertUserFrom::Cn).as_deref(), Some("rudolph"));
        assert_eq!(c.ous, vec!["field_sales".to_string()]);
        assert_eq!(c.user(CertUserFrom::SanEmail), None);
    }

    #[test]
    fn san_email_maps_to_its_local_part() {
        let c = ClientCert {
            emails: vec!["holly@northpole.example".into()],
            ..ClientCert::default()
        };
        assert_eq!(c.user(CertUserFrom::SanEmail).as_deref(), Some("holly"));
    }
}
