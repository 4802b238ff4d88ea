//! Open Referral HSDS 3.1 (issue 13): each listed practice serves itself, and the directory
//! serves every listing, under `/hsds/`. Every object is checked against what the
//! specification requires of it: the required fields, their types and formats, and the
//! allowed values, written here as typed checks (the specification's own files are not
//! copied in).

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

fn is_uuid(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        let parts: Vec<&str> = s.split('-').collect();
        parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
            && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
    })
}

fn is_uri(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        (s.starts_with("https://") || s.starts_with("http://")) && !s.contains(' ')
    })
}

fn is_date(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.parse::<jiff::civil::Date>().is_ok() && s.len() == 10)
}

fn is_date_time(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.parse::<jiff::Timestamp>().is_ok())
}

#[track_caller]
fn required(object: &Value, fields: &[&str], what: &str) {
    for field in fields {
        assert!(!object[field].is_null(), "{what} needs {field}: {object:#}");
    }
}

#[track_caller]
fn string_if_there(object: &Value, fields: &[&str], what: &str) {
    for field in fields {
        let v = &object[field];
        assert!(
            v.is_null() || v.is_string(),
            "{what}.{field} is a string: {v}"
        );
    }
}

fn check_organization(o: &Value) {
    required(o, &["id", "name", "description"], "organization");
    assert!(is_uuid(&o["id"]));
    string_if_there(o, &["name", "description"], "organization");
    assert!(o["website"].is_null() || is_uri(&o["website"]));
}

fn check_location(l: &Value) {
    required(l, &["id", "location_type"], "location");
    assert!(is_uuid(&l["id"]));
    assert!(matches!(
        l["location_type"].as_str(),
        Some("physical" | "postal" | "virtual")
    ));
    assert!(l["url"].is_null() || is_uri(&l["url"]));
    for a in l["addresses"].as_array().map_or(&[][..], Vec::as_slice) {
        required(
            a,
            &[
                "id",
                "address_1",
                "city",
                "state_province",
                "postal_code",
                "country",
                "address_type",
            ],
            "address",
        );
        assert!(is_uuid(&a["id"]));
        string_if_there(
            a,
            &[
                "address_1",
                "city",
                "state_province",
                "postal_code",
                "country",
            ],
            "address",
        );
        assert_eq!(
            a["country"].as_str().map(str::len),
            Some(2),
            "ISO 3166-1 alpha-2"
        );
        assert!(matches!(
            a["address_type"].as_str(),
            Some("physical" | "postal" | "virtual")
        ));
    }
}

fn check_term(t: &Value) {
    required(t, &["id", "name", "description"], "taxonomy_term");
    assert!(is_uuid(&t["id"]));
    assert!(t["taxonomy_id"].is_null() || is_uuid(&t["taxonomy_id"]));
    string_if_there(
        t,
        &["code", "name", "description", "taxonomy", "language"],
        "taxonomy_term",
    );
    if !t["taxonomy_detail"].is_null() {
        check_taxonomy(&t["taxonomy_detail"]);
    }
}

fn check_taxonomy(t: &Value) {
    required(t, &["id", "name", "description"], "taxonomy");
    assert!(is_uuid(&t["id"]));
    string_if_there(t, &["name", "description", "version"], "taxonomy");
}

fn check_service(s: &Value) {
    required(s, &["id", "name", "status"], "service");
    assert!(is_uuid(&s["id"]));
    assert!(is_uuid(&s["organization_id"]));
    assert!(matches!(
        s["status"].as_str(),
        Some("active" | "inactive" | "defunct" | "temporarily closed")
    ));
    string_if_there(s, &["name", "description", "accreditations"], "service");
    assert!(s["url"].is_null() || is_uri(&s["url"]));
    assert!(s["assured_date"].is_null() || is_date(&s["assured_date"]));
    assert!(s["last_modified"].is_null() || is_date_time(&s["last_modified"]));
    check_organization(&s["organization"]);
    for sal in s["service_at_locations"]
        .as_array()
        .expect("service_at_locations")
    {
        required(sal, &["id"], "service_at_location");
        assert!(is_uuid(&sal["id"]) && is_uuid(&sal["location_id"]) && is_uuid(&sal["service_id"]));
        check_location(&sal["location"]);
    }
    for c in s["cost_options"].as_array().expect("cost_options") {
        required(c, &["id"], "cost_option");
        assert!(is_uuid(&c["id"]));
        assert!(c["amount"].is_number());
        assert_eq!(c["currency"].as_str().map(str::len), Some(3));
        string_if_there(c, &["option", "amount_description"], "cost_option");
    }
    for l in s["languages"].as_array().expect("languages") {
        required(l, &["id"], "language");
        assert!(is_uuid(&l["id"]));
        string_if_there(l, &["name", "code"], "language");
    }
    for a in s["attributes"].as_array().expect("attributes") {
        required(a, &["id"], "attribute");
        assert!(is_uuid(&a["id"]) && is_uuid(&a["taxonomy_term_id"]) && is_uuid(&a["link_id"]));
        check_term(&a["taxonomy_term"]);
    }
    for c in s["capacities"].as_array().map_or(&[][..], Vec::as_slice) {
        required(
            c,
            &["id", "unit", "available", "updated"],
            "service_capacity",
        );
        assert!(is_uuid(&c["id"]));
        assert!(c["available"].is_number());
        assert!(is_date_time(&c["updated"]));
        required(&c["unit"], &["id", "name"], "unit");
        assert!(is_uuid(&c["unit"]["id"]));
    }
}

#[track_caller]
fn check_page(page: &Value) -> &Vec<Value> {
    for field in ["total_items", "total_pages", "page_number", "size"] {
        assert!(page[field].is_u64(), "{field}: {page:#}");
    }
    for field in ["first_page", "last_page", "empty"] {
        assert!(page[field].is_boolean(), "{field}");
    }
    page["contents"].as_array().expect("contents")
}

async fn json(client: &reqwest::Client, url: &str) -> (StatusCode, Value, Option<String>) {
    let response = client.get(url).send().await.expect("GET");
    let status = response.status();
    let cors = response
        .headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, response.json().await.unwrap_or(Value::Null), cors)
}

fn listed() -> domain::directory::ListingSettings {
    domain::directory::ListingSettings::parse(&domain::directory::RawListingSettings {
        listed: true,
        help_with: vec!["anxiety".into(), "loss".into()],
        approaches: vec!["psychodynamic".into()],
        ways: vec!["brief".into(), "open-ended".into()],
        concession_places: "2".into(),
        concession_fee: "40".into(),
        body: "ukcp".into(),
        number: "DEMO-9".into(),
        accepting: true,
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_practice_serves_its_listing_as_hsds() {
    let app = TestApp::spawn().await;
    let client = app.client().clone();
    let (status, services, _) = json(&client, &app.url("/hsds/services")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(services["total_items"], 0, "nothing until it is listed");
    app.store
        .save_listing_settings(
            app.practice,
            &listed(),
            "dddddddd-0000-4000-8000-000000000004",
            app.clock.now(),
        )
        .await
        .unwrap();

    let (status, root, cors) = json(&client, &app.url("/hsds/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cors.as_deref(), Some("*"));
    assert_eq!(root["version"], "3.1");
    assert!(is_uri(&root["profile"]) && is_uri(&root["openapi_url"]));
    let (status, doc, _) = json(&client, root["openapi_url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/services/{id}"].is_object());

    let (_, page, cors) = json(&client, &app.url("/hsds/services")).await;
    assert_eq!(cors.as_deref(), Some("*"));
    let services = check_page(&page).clone();
    assert_eq!(
        services.len(),
        3,
        "a first consultation, brief and open-ended work"
    );
    for service in &services {
        check_service(service);
    }
    let consultation = &services[0];
    assert_eq!(consultation["name"], "First consultation");
    assert!(
        consultation["capacities"][0]["available"].as_u64().unwrap() > 0,
        "free days from the diary"
    );
    let open_ended = &services[2];
    let reduced: Vec<&Value> = open_ended["cost_options"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["amount"] == 40.0)
        .collect();
    assert_eq!(reduced.len(), 1, "the reduced fee");
    let text = page.to_string();
    assert!(
        !text.contains("SW12 9RT") && !text.contains("Larchwood Mews"),
        "rooms by district only"
    );
    assert!(text.contains("\"SW12\""));

    let id = consultation["id"].as_str().unwrap();
    let (status, one, _) = json(&client, &app.url(&format!("/hsds/services/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    check_service(&one);
    assert_eq!(one["id"], id);
    // The same ids every time.
    let (_, again, _) = json(&client, &app.url("/hsds/services")).await;
    assert_eq!(again["contents"][0]["id"], id);

    for list in [
        "organizations",
        "service_at_locations",
        "taxonomies",
        "taxonomy_terms",
    ] {
        let (status, page, _) =
            json(&client, &app.url(&format!("/hsds/{list}?per_page=100"))).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        for item in check_page(&page) {
            match list {
                "organizations" => check_organization(item),
                "service_at_locations" => check_location(&item["location"]),
                "taxonomies" => check_taxonomy(item),
                _ => check_term(item),
            }
        }
    }
    let (_, terms, _) = json(&client, &app.url("/hsds/taxonomy_terms?per_page=100")).await;
    let anxiety = terms["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "anxiety")
        .unwrap()["id"]
        .clone();
    let trauma = terms["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "trauma")
        .unwrap()["id"]
        .clone();
    let (_, with, _) = json(
        &client,
        &app.url(&format!(
            "/hsds/services?taxonomy_term_id={}",
            anxiety.as_str().unwrap()
        )),
    )
    .await;
    assert_eq!(with["total_items"], 3);
    let (_, without, _) = json(
        &client,
        &app.url(&format!(
            "/hsds/services?taxonomy_term_id={}",
            trauma.as_str().unwrap()
        )),
    )
    .await;
    assert_eq!(without["total_items"], 0);
    assert_eq!(without["empty"], true);

    let (_, paged, _) = json(&client, &app.url("/hsds/services?per_page=2&page=2")).await;
    assert_eq!(
        (
            paged["page_number"].as_u64(),
            paged["size"].as_u64(),
            paged["total_pages"].as_u64()
        ),
        (Some(2), Some(1), Some(2))
    );
    assert_eq!(paged["last_page"], true);
    for (path, status) in [
        ("/hsds/services?page=0", StatusCode::BAD_REQUEST),
        ("/hsds/services?per_page=1000", StatusCode::BAD_REQUEST),
        (
            "/hsds/services/00000000-0000-4000-8000-000000000000",
            StatusCode::NOT_FOUND,
        ),
        ("/hsds/clients", StatusCode::NOT_FOUND),
    ] {
        let (got, body, _) = json(&client, &app.url(path)).await;
        assert_eq!(got, status, "{path}");
        assert!(body["error"].is_string(), "{path}: JSON errors");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_serves_every_listing_as_hsds() {
    let app = TestApp::spawn_hosted().await;
    let second = app.second_practice().await;
    for (practice, id) in [
        (app.practice, "eeeeeeee-0000-4000-8000-000000000005"),
        (second.practice, "ffffffff-0000-4000-8000-000000000006"),
    ] {
        app.store
            .save_listing_settings(practice, &listed(), id, app.clock.now())
            .await
            .unwrap();
    }
    web::directory::refresh(&app.state).await.unwrap();
    let browser = app.directory_browser();
    let (status, orgs, cors) = json(&browser, &app.directory_url("/hsds/organizations")).await;
    assert_eq!(status, StatusCode::OK, "{orgs}");
    assert_eq!(cors.as_deref(), Some("*"));
    assert_eq!(orgs["total_items"], 2);
    let (_, services, _) = json(&browser, &app.directory_url("/hsds/services?per_page=100")).await;
    assert_eq!(services["total_items"], 6);
    for service in check_page(&services) {
        check_service(service);
    }
    let org = orgs["contents"][0]["id"].as_str().unwrap().to_owned();
    let (_, theirs, _) = json(
        &browser,
        &app.directory_url(&format!("/hsds/services?organization_id={org}")),
    )
    .await;
    assert_eq!(theirs["total_items"], 3);
    let (_, root, _) = json(&browser, &app.directory_url("/hsds")).await;
    assert!(
        root["openapi_url"]
            .as_str()
            .unwrap()
            .starts_with("http://find.localhost:")
    );
}
