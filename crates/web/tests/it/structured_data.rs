//! schema.org JSON-LD, as search engines read it.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{POSTCODE, PUBLISHED, TestApp};

fn of_type<'a>(items: impl IntoIterator<Item = &'a Value>, wanted: &str) -> Option<&'a Value> {
    items.into_iter().find(|item| item["@type"] == wanted)
}

/// Every top-level item of a page's JSON-LD, unwrapping arrays and `@graph`.
fn items(blocks: &[Value]) -> Vec<&Value> {
    let mut out = Vec::new();
    for block in blocks {
        let list: Vec<&Value> = match block {
            Value::Array(list) => list.iter().collect(),
            other => vec![other],
        };
        for item in list {
            match item.get("@graph").and_then(Value::as_array) {
                Some(graph) => out.extend(graph.iter()),
                None => out.push(item),
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_page_describes_the_practice_and_its_address() {
    let app = TestApp::spawn().await;
    let page = app.get("/").await;
    page.assert_status(StatusCode::OK);
    let blocks = page.json_ld();
    let all = items(&blocks);
    let practice =
        of_type(all.iter().copied(), "ProfessionalService").expect("a ProfessionalService");
    assert_eq!(practice["name"], "Larchwood Psychotherapy");
    assert_eq!(practice["url"], app.url("/"));
    let addresses = practice["address"].as_array().expect("addresses");
    assert_eq!(
        addresses.len(),
        1,
        "only the room has an address, not the online location"
    );
    let address = of_type(addresses, "PostalAddress").expect("a PostalAddress");
    assert_eq!(address["postalCode"], POSTCODE);
    assert_eq!(address["addressCountry"], "GB");
    let person = of_type(all.iter().copied(), "Person").expect("the therapist");
    assert_eq!(person["name"], "Alex Morgan");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_page_has_article_and_breadcrumb_data() {
    let app = TestApp::spawn().await;
    let (slug, title, tags) = PUBLISHED[0];
    let path = format!("/articles/{slug}");
    let page = app.get(&path).await;
    page.assert_status(StatusCode::OK);
    let blocks = page.json_ld();
    let all = items(&blocks);
    let article = of_type(all.iter().copied(), "Article").expect("an Article");
    assert_eq!(article["headline"], title);
    assert_eq!(article["mainEntityOfPage"], app.url(&path));
    assert_eq!(article["datePublished"], "2027-03-10");
    assert_eq!(article["author"]["name"], "Alex Morgan");
    let keywords: Vec<&str> = article["keywords"]
        .as_array()
        .expect("keywords")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        keywords,
        tags.iter().map(|t| t.replace('-', " ")).collect::<Vec<_>>()
    );

    let crumbs = of_type(all.iter().copied(), "BreadcrumbList").expect("a BreadcrumbList");
    let trail = crumbs["itemListElement"].as_array().expect("crumbs");
    let names: Vec<&str> = trail.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["Home", "Articles", title]);
    assert_eq!(trail[2]["item"], app.url(&path));
    assert_eq!(trail[2]["position"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_faq_page_has_faqpage_data_for_every_question() {
    let app = TestApp::spawn().await;
    let page = app.get("/faq").await;
    page.assert_status(StatusCode::OK);
    let blocks = page.json_ld();
    let all = items(&blocks);
    let faq = of_type(all.iter().copied(), "FAQPage").expect("a FAQPage");
    let questions = faq["mainEntity"].as_array().expect("questions");
    let names: Vec<&str> = questions
        .iter()
        .filter_map(|q| q["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "How long is a session?",
            "Do you work online?",
            "How do I start?"
        ]
    );
    assert!(
        questions
            .iter()
            .all(|q| q["@type"] == "Question" && q["acceptedAnswer"]["@type"] == "Answer")
    );
    assert_eq!(
        questions[0]["acceptedAnswer"]["text"], "Sessions last 50 minutes.",
        "answers are plain text, not Markdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_ld_cannot_break_out_of_its_script_element() {
    let app = TestApp::spawn().await;
    let office_cookie = app.sign_in().await;
    assert!(!office_cookie.is_empty());
    let sneaky = "Sleep </script><script>alert(1)</script> & anxiety";
    let form = [
        ("kind", "article"),
        ("title", sneaky),
        ("slug", "sneaky-title"),
        ("summary", "A summary."),
        ("body", "Body text."),
        ("tags", "anxiety"),
        ("date", "2027-03-24"),
        ("published", "true"),
        ("action", "save"),
    ];
    assert_eq!(
        app.office_post("/office/articles/new", &form).await.status,
        StatusCode::SEE_OTHER
    );
    let page = app.get("/articles/sneaky-title").await;
    page.assert_status(StatusCode::OK);
    assert!(
        !page.body.contains("<script>alert(1)"),
        "the title escaped into the page"
    );
    let blocks = page.json_ld();
    let all = items(&blocks);
    assert_eq!(
        of_type(all.iter().copied(), "Article").expect("an Article")["headline"],
        sneaky
    );
}
