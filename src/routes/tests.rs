//! Unit tests of the route table: never run in a build that serves requests.

use std::path::Path;

use super::*;

fn table() -> RouteTable {
    RouteTable::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/routes.toml")).unwrap()
}

fn segs(p: &str) -> Vec<String> {
    p.trim_start_matches('/')
        .split('/')
        .map(String::from)
        .collect()
}

#[test]
fn demo_routes_match() {
    let t = table();
    let m = t
        .find(&http::Method::GET, &segs("/crm/v3/objects/contacts/1001"))
        .unwrap();
    assert_eq!(m.route.name, "contacts.get");
    assert_eq!(m.id.as_deref(), Some("1001"));
    let m = t
        .find(
            &http::Method::POST,
            &segs("/crm/v3/objects/contacts/search"),
        )
        .unwrap();
    assert_eq!(m.route.name, "contacts.search");
}

#[test]
fn the_shipped_routes_have_no_passthrough_route() {
    assert!(table().routes().iter().all(|r| !r.passthrough));
}

#[test]
#[cfg(feature = "bench-reference")]
fn a_passthrough_route_cannot_ask_the_upstream_for_hidden_properties() {
    let dir = tempfile::tempdir().unwrap();
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/routes.toml"))
            .unwrap();
    let path = dir.path().join("routes.toml");
    let with = |extra: &str| {
        std::fs::write(&path, format!("{shipped}\n[[routes]]\nname = \"pt\"\nmethod = \"GET\"\npath = \"/pt/contacts\"\naction = \"list\"\nresource = \"Contact\"\nrecords = \"$.results[*]\"\npassthrough = true\n{extra}")).unwrap();
        RouteTable::load(&path)
    };
    assert!(with("").unwrap().routes().iter().any(|r| r.passthrough));
    let e = with("query = [\"properties\"]\nproperties_param = \"properties\"\n").unwrap_err();
    assert!(e.to_string().contains("passthrough"), "{e}");
}

/// The benchmark's pass-through reference is not part of the production route schema.
#[test]
#[cfg(not(feature = "bench-reference"))]
fn a_production_build_refuses_a_passthrough_route() {
    let dir = tempfile::tempdir().unwrap();
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/routes.toml"))
            .unwrap();
    let path = dir.path().join("routes.toml");
    std::fs::write(&path, format!("{shipped}\n[[routes]]\nname = \"pt\"\nmethod = \"GET\"\npath = \"/pt/contacts\"\naction = \"list\"\nresource = \"Contact\"\nrecords = \"$.results[*]\"\npassthrough = true\n")).unwrap();
    let e = RouteTable::load(&path).unwrap_err();
    assert!(e.to_string().contains("passthrough"), "{e}");
}

#[test]
fn unknown_paths_and_methods_are_refused() {
    let t = table();
    let e = t
        .find(&http::Method::GET, &segs("/crm/v3/objects/deals"))
        .unwrap_err();
    assert_eq!(e.status(), 404);
    let e = t
        .find(&http::Method::PUT, &segs("/crm/v3/objects/contacts/1001"))
        .unwrap_err();
    assert_eq!(e.status(), 405);
}

/// crmgate's own endpoints (a write's notice) are under `/crmgate/`: a route or alias there
/// would be shadowed by them, so the routes file may hold none.
#[test]
fn no_route_or_alias_may_be_under_crmgates_own_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/routes.toml"))
            .unwrap();
    let path = dir.path().join("routes.toml");
    std::fs::write(&path, format!("{shipped}\n[[routes]]\nname = \"own\"\nmethod = \"GET\"\npath = \"/crmgate/v1/notices/{{id}}\"\naction = \"read\"\nresource = \"Contact\"\nrecords = \"$\"\n")).unwrap();
    let e = RouteTable::load(&path).unwrap_err();
    assert!(e.to_string().contains("crmgate's own endpoints"), "{e}");
    std::fs::write(
        &path,
        format!("{shipped}\n[[aliases]]\nfrom = \"/crmgate/v1/{{version}}\"\nto = \"/x\"\n"),
    )
    .unwrap();
    let e = RouteTable::load(&path).unwrap_err();
    assert!(e.to_string().contains("crmgate's own endpoints"), "{e}");
}
