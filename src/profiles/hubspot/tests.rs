//! Tests of the HubSpot read bodies: strict parsing, rebuilt upstream bodies, hidden
//! properties. Test code only: it must never be compiled into the proxy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

#[test]
fn properties_fetched_only_for_the_policies_are_hidden_and_others_are_not() {
    let routes = crate::routes::RouteTable::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/routes.toml"),
    )
    .unwrap();
    let route = routes
        .routes()
        .iter()
        .find(|r| r.name == "contacts.get")
        .unwrap();
    let res = &route.resource;
    let attrs: Vec<String> = res.attribute_properties().map(String::from).collect();
    assert!(!attrs.is_empty());
    // Asked for one attribute property: every other one is fetched and hidden.
    let asked = attrs[0].clone();
    let mut hidden = HashSet::new();
    let props =
        with_attribute_properties(res, Some(vec!["email".into(), asked.clone()]), &mut hidden);
    for a in &attrs {
        assert!(props.contains(a), "{a} fetched");
        let expected = *a != asked && !res.always_properties.contains(a);
        assert_eq!(hidden.contains(a), expected, "{a}");
    }
    assert!(!hidden.contains("email"));
    assert_eq!(props.iter().filter(|p| **p == asked).count(), 1);
    // Nothing asked: the defaults are shown, the other attribute properties hidden.
    let mut hidden = HashSet::new();
    let props = with_attribute_properties(res, None, &mut hidden);
    for a in &attrs {
        assert!(props.contains(a));
        assert_eq!(
            hidden.contains(a),
            !res.default_properties.contains(a),
            "{a}"
        );
    }
}

#[test]
fn search_bodies_are_parsed_strictly() {
    let ok = br#"{"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ","value":"a@b"}]}],"sorts":[{"propertyName":"lastname","direction":"DESCENDING"}],"query":"x","properties":["email"],"limit":5,"after":"10"}"#;
    let s = SearchRequest::parse(ok).unwrap();
    assert_eq!(
        s.selected_by(&["firstname".into()]),
        BTreeSet::from(["email", "lastname", "firstname"])
    );
    assert_eq!(s.page(), (Some("10".to_string()), 5));
    for bad in [
        &br#"{"sorts":["billing_iban"]}"#[..],
        br#"{"sorts":"billing_iban"}"#,
        br#"{"filterGroups":{"filters":[]}}"#,
        br#"{"filterGroups":[{"filters":[{"propertyName":"x","operator":"LIKE"}]}]}"#,
        br#"{"filterGroups":[{"filters":[{"propertyName":"x"}]}]}"#,
        br#"{"filterGroups":[{"filters":[{"propertyName":"x","operator":"EQ","extra":1}]}]}"#,
        br#"{"unknown":1}"#,
        br#"{"limit":0}"#,
        br#"{"limit":201}"#,
        br#"{"query":"a","query":"b"}"#,
        br#"[]"#,
    ] {
        assert!(
            SearchRequest::parse(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn the_upstream_search_body_is_rebuilt_from_the_typed_value() {
    let s = SearchRequest::parse(br#"{"filterGroups":[{"filters":[{"propertyName":"email","operator":"HAS_PROPERTY"}]}],"properties":["email"],"after":3}"#).unwrap();
    let body: Value = serde_json::from_slice(
        &s.upstream_body(
            &["email".into(), "lifecyclestage".into()],
            200,
            Some("0".into()),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "filterGroups":[{"filters":[{"propertyName":"email","operator":"HAS_PROPERTY"}]}],
            "properties":["email","lifecyclestage"],"limit":200,"after":"0"
        })
    );
}

#[test]
fn batch_reads_name_their_lookup_property() {
    let b = BatchReadRequest::parse(
        br#"{"inputs":[{"id":"a@b"},{"id":"a@b"},{"id":7}],"properties":["email"],"idProperty":"email"}"#,
    )
    .unwrap();
    assert_eq!(b.keys(), vec!["a@b".to_string(), "7".to_string()]);
    assert_eq!(b.selected_by(), BTreeSet::from(["email"]));
    assert!(BatchReadRequest::parse(br#"{"inputs":[{"id":"1","x":1}]}"#).is_err());
    assert!(BatchReadRequest::parse(br#"{"properties":[]}"#).is_err());
}
