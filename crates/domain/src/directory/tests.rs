use jiff::{Timestamp, ToSpan, civil::date};

use super::*;

fn now() -> Timestamp {
    "2027-03-01T09:00:00Z".parse().unwrap()
}

fn listing(id: &str) -> Listing {
    Listing {
        id: id.to_owned(),
        name: "Rowan Counselling".into(),
        therapist: "Priya Raman".into(),
        title: "Integrative counsellor".into(),
        summary: "Counselling for adults in Clifton. I see people who feel stuck.".into(),
        url: "https://rowan.example".into(),
        booking_url: Some("https://rowan.example/book".into()),
        help_with: vec!["anxiety".into(), "loss".into()],
        approaches: vec!["integrative".into()],
        ways: vec!["open-ended".into()],
        languages: vec!["English".into(), "Tamil".into()],
        identity: "woman, she/her".into(),
        rooms: vec![Room {
            area: "Clifton".into(),
            outcode: Outcode::parse("BS8").unwrap(),
        }],
        online: true,
        consultation_fee: Some(Pence::new(4500)),
        session_fee: Some(Pence::new(6000)),
        concessions: None,
        registration: Some(Registration {
            body: "bacp".into(),
            number: "DEMO-1".into(),
        }),
        accepting: true,
        portrait: Some(ListingPortrait {
            url: "https://rowan.example/media/0123456789abcdef0123-640.jpg".into(),
            alt: "Priya, smiling, in a green jumper".into(),
            width: 640,
            height: 800,
        }),
    }
}

fn free_in(days: i64) -> FreeTimes {
    let at = now() + (days * 24).hours();
    FreeTimes {
        in_person: vec![at],
        online: vec![at],
    }
}

fn entry(listing: Listing, free: FreeTimes) -> Entry {
    Entry::new(listing, free, now(), false)
}

fn search(raw: RawSearch) -> Search {
    Search::parse(&raw, |name| match name {
        "clifton" => vec![Outcode::parse("BS8").unwrap()],
        _ => Vec::new(),
    })
    .unwrap()
}

fn passes(entry: &Entry, raw: RawSearch) -> bool {
    rank(entry, &search(raw), now()).is_some()
}

#[test]
fn settings_are_checked_when_listed() {
    let off = ListingSettings::parse(&RawListingSettings::default()).unwrap();
    assert!(!off.listed);
    let e = ListingSettings::parse(&RawListingSettings {
        listed: true,
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.get("help_with").is_some());
    assert!(e.get("approaches").is_some());
    assert!(e.get("ways").is_some());
    let e = ListingSettings::parse(&RawListingSettings {
        listed: true,
        help_with: vec!["astrology".into()],
        approaches: vec!["cbt".into()],
        ways: vec!["brief".into()],
        concession_places: "2".into(),
        body: "bacp".into(),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(
        e.get("help_with"),
        Some("Choose things you help with from the list")
    );
    assert!(e.get("concession_fee").is_some());
    assert!(e.get("number").is_some());
    let too_many = RawListingSettings {
        help_with: HELP_WITH
            .iter()
            .take(16)
            .map(|t| t.slug.to_owned())
            .collect(),
        ..Default::default()
    };
    assert!(
        ListingSettings::parse(&too_many)
            .unwrap_err()
            .get("help_with")
            .is_some()
    );
    let good = ListingSettings::parse(&RawListingSettings {
        listed: true,
        help_with: vec!["loss".into(), "anxiety".into(), "loss".into()],
        approaches: vec!["cbt".into()],
        ways: vec!["brief".into()],
        concession_places: " 2 ".into(),
        concession_fee: "£35".into(),
        body: "bacp".into(),
        number: "123456".into(),
        accepting: true,
        identity: " woman, she/her ".into(),
    })
    .unwrap();
    assert_eq!(
        good.help_with,
        ["anxiety", "loss"],
        "list order, no repeats"
    );
    assert_eq!(good.concession_fee, Some(Pence::new(3500)));
    assert_eq!(good.identity, "woman, she/her");
    assert_eq!(ListingSettings::parse(&good.to_raw()).unwrap(), good);
}

#[test]
fn searches_report_each_problem_at_its_field() {
    let e = Search::parse(
        &RawSearch {
            help: vec!["nope".into()],
            approach: "astrology".into(),
            within: "10".into(),
            fee: "lots".into(),
            near: "Atlantis".into(),
            meeting: "teleport".into(),
            page: "0".into(),
            body: "xyz".into(),
            ..Default::default()
        },
        |_| Vec::new(),
    )
    .unwrap_err();
    for field in [
        "help", "approach", "within", "fee", "near", "meeting", "page", "body",
    ] {
        assert!(e.get(field).is_some(), "{field}");
    }
    assert!(e.get("near").unwrap().contains("Atlantis"));
    let s = search(RawSearch::default());
    assert!(s.is_everything());
    assert_eq!(s.page, 1);
    let s = search(RawSearch {
        near: "clifton".into(),
        ..Default::default()
    });
    assert_eq!(s.near.unwrap().1, vec![Outcode::parse("BS8").unwrap()]);
    let s = search(RawSearch {
        near: "bs8 1aa".into(),
        meeting: "online".into(),
        ..Default::default()
    });
    assert_eq!(s.near, None, "a place means nothing to an online search");
}

#[test]
fn every_filter_narrows() {
    let e = entry(listing("a"), free_in(3));
    assert!(passes(&e, RawSearch::default()));
    let cases: [(RawSearch, RawSearch); 11] = [
        (
            RawSearch {
                help: vec!["loss".into()],
                ..Default::default()
            },
            RawSearch {
                help: vec!["eating".into()],
                ..Default::default()
            },
        ),
        (
            RawSearch {
                approach: "integrative".into(),
                ..Default::default()
            },
            RawSearch {
                approach: "cbt".into(),
                ..Default::default()
            },
        ),
        (
            RawSearch {
                way: "open-ended".into(),
                ..Default::default()
            },
            RawSearch {
                way: "brief".into(),
                ..Default::default()
            },
        ),
        (
            RawSearch {
                near: "BS8".into(),
                meeting: "in-person".into(),
                ..Default::default()
            },
            RawSearch {
                near: "SW12".into(),
                meeting: "in-person".into(),
                ..Default::default()
            },
        ),
        (
            RawSearch {
                within: "7".into(),
                ..Default::default()
            },
            RawSearch {
                within: "7".into(),
                meeting: "in-person".into(),
                near: "M20".into(),
                ..Default::default()
            },
        ),
        (
            RawSearch {
                fee: "60".into(),
                ..Default::default()
            },
            RawSearch {
                fee: "59.99".into(),
                ..Default::default()
            },
        ),
        (
            RawSearch {
                language: "tamil".into(),
                ..Default::default()
            },
            RawSearch {
                language: "Welsh".into(),
                ..Default::default()
            },
        ),
        (
            RawSearch {
                identity: "She/her".into(),
                ..Default::default()
            },
            RawSearch {
                identity: "he/him".into(),
                ..Default::default()
            },
        ),
        (
            RawSearch {
                body: "bacp".into(),
                ..Default::default()
            },
            RawSearch {
                body: "ukcp".into(),
                ..Default::default()
            },
        ),
        (
            RawSearch {
                q: "rowan anx".into(),
                ..Default::default()
            },
            RawSearch {
                q: "rowan gestalt".into(),
                ..Default::default()
            },
        ),
        (
            RawSearch {
                meeting: "online".into(),
                ..Default::default()
            },
            RawSearch {
                concessions: true,
                ..Default::default()
            },
        ),
    ];
    for (yes, no) in cases {
        assert!(passes(&e, yes.clone()), "{yes:?}");
        assert!(!passes(&e, no.clone()), "{no:?}");
    }
    // Within 7 days: 3 days away passes, 10 days does not; 14 days catches it.
    let later = entry(listing("b"), free_in(10));
    assert!(!passes(
        &later,
        RawSearch {
            within: "7".into(),
            ..Default::default()
        }
    ));
    assert!(passes(
        &later,
        RawSearch {
            within: "14".into(),
            ..Default::default()
        }
    ));
    // Concessions: a fee above the limit passes if the reduced places are within it.
    let mut cheap = listing("c");
    cheap.concessions = Some(Concessions {
        places: 2,
        from: Pence::new(3000),
    });
    let cheap = entry(cheap, free_in(1));
    assert!(!passes(
        &cheap,
        RawSearch {
            fee: "40".into(),
            ..Default::default()
        }
    ));
    assert!(passes(
        &cheap,
        RawSearch {
            fee: "40".into(),
            concessions: true,
            ..Default::default()
        }
    ));
}

#[test]
fn not_accepting_or_unheard_leaves_availability_searches() {
    let mut full = listing("a");
    full.accepting = false;
    let full = entry(full, free_in(1));
    assert!(passes(&full, RawSearch::default()), "the page stays");
    assert!(!passes(
        &full,
        RawSearch {
            within: "28".into(),
            ..Default::default()
        }
    ));
    let mut quiet = entry(listing("b"), free_in(1));
    quiet.heard = now() - (STALE_AFTER_HOURS + 1).hours();
    assert!(!passes(
        &quiet,
        RawSearch {
            within: "28".into(),
            ..Default::default()
        }
    ));
    assert_eq!(
        rank(&quiet, &search(RawSearch::default()), now())
            .unwrap()
            .availability,
        2
    );
    // Times already past do not count.
    let past = entry(listing("c"), free_in(-1));
    assert!(!passes(
        &past,
        RawSearch {
            within: "7".into(),
            ..Default::default()
        }
    ));
}

#[test]
fn order_is_relevance_then_availability_then_nearness() {
    let mut near = listing("near");
    near.help_with = vec!["anxiety".into()];
    let mut area = listing("area");
    area.rooms[0].outcode = Outcode::parse("BS6").unwrap();
    area.help_with = vec!["anxiety".into()];
    let both = listing("both"); // anxiety and loss
    let mut none_free = listing("none-free");
    none_free.help_with = vec!["anxiety".into()];
    let entries = vec![
        entry(near, free_in(2)),
        entry(area, free_in(2)),
        entry(both, free_in(20)),
        entry(none_free, FreeTimes::default()),
    ];
    let s = search(RawSearch {
        help: vec!["anxiety".into(), "loss".into()],
        near: "BS8 1AA".into(),
        meeting: "in-person".into(),
        ..Default::default()
    });
    let ids: Vec<&str> = order(&entries, &s, now(), 1)
        .into_iter()
        .map(|(i, _)| entries[i].listing.id.as_str())
        .collect();
    assert_eq!(ids, ["both", "near", "area", "none-free"]);
}

#[test]
fn identical_listings_take_turns_at_the_top() {
    let entries: Vec<Entry> = (0..20)
        .map(|i| {
            entry(
                listing(&format!("7f3c2a10-0000-4000-8000-{i:012}")),
                free_in(1),
            )
        })
        .collect();
    let s = search(RawSearch::default());
    let mut first_page = [0u32; 20];
    let mut first_place = [0u32; 20];
    let mut day = date(2027, 1, 1);
    for _ in 0..365 {
        let ordered = order(&entries, &s, now(), daily_seed(day));
        assert_eq!(ordered.len(), 20);
        for (i, _) in ordered.iter().take(PAGE_SIZE) {
            first_page[*i] += 1;
        }
        first_place[ordered[0].0] += 1;
        // The same day and query give the same order again.
        assert_eq!(ordered, order(&entries, &s, now(), daily_seed(day)));
        day = day.tomorrow().unwrap();
    }
    // A fair share: half the year on the first page (182.5 days; a binomial spread of about
    // ±10), and about 18 days at the very top.
    for (i, days) in first_page.iter().enumerate() {
        assert!(
            (150..=215).contains(days),
            "listing {i} was on page one on {days} days"
        );
    }
    for (i, days) in first_place.iter().enumerate() {
        assert!(
            (6..=34).contains(days),
            "listing {i} was first on {days} days"
        );
    }
    assert_ne!(daily_seed(date(2027, 1, 1)), daily_seed(date(2027, 1, 2)));
    // The published formula, worked by hand for one day.
    assert_eq!(daily_seed(date(2027, 1, 1)), mix_check(20_270_101));
}

/// SplitMix64 written out again, so a change to the published formula fails here.
fn mix_check(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn next_free_ignores_what_has_passed() {
    let free = entry(
        listing("a"),
        FreeTimes {
            in_person: vec![now() + 5.hours(), now() - 1.hour(), now() + 9.hours()],
            online: vec![now() + 2.hours()],
        },
    )
    .free;
    assert_eq!(free.next(Meeting::InPerson, now()), Some(now() + 5.hours()));
    assert_eq!(free.next(Meeting::Either, now()), Some(now() + 2.hours()));
    assert_eq!(FreeTimes::default().next(Meeting::Online, now()), None);
}

#[test]
fn a_listing_from_elsewhere_is_checked() {
    let good = listing("7f3c2a10-0000-4000-8000-000000000001");
    let free = free_in(1);
    assert_eq!(good.check("rowan.example", &free), Ok(()));
    assert!(
        good.check("elsewhere.example", &free)
            .unwrap_err()
            .contains("another site")
    );
    let mut bad = good.clone();
    bad.help_with.push("astrology".into());
    assert!(bad.check("rowan.example", &free).is_err());
    let mut bad = good.clone();
    bad.name = "x".repeat(201);
    assert!(bad.check("rowan.example", &free).is_err());
    let mut bad = good.clone();
    bad.summary = "a\u{7}b".into();
    assert!(bad.check("rowan.example", &free).is_err());
    let mut bad = good.clone();
    bad.id = "<script>".into();
    assert!(bad.check("rowan.example", &free).is_err());
    let many = FreeTimes {
        in_person: vec![now(); MAX_FREE_TIMES + 1],
        online: Vec::new(),
    };
    assert!(good.check("rowan.example", &many).is_err());
    assert_eq!(
        host_of("https://Rowan.example:8443/book"),
        Some("rowan.example".into())
    );
    assert_eq!(host_of("https://user@rowan.example/"), None);
    assert_eq!(host_of("ftp://rowan.example/"), None);
}

#[test]
fn a_listings_portrait_is_a_plain_address_on_its_own_site_with_a_description() {
    let good = listing("7f3c2a10-0000-4000-8000-000000000001");
    let free = free_in(1);
    assert_eq!(
        good.portrait.as_ref().unwrap().path("rowan.example"),
        Some("/media/0123456789abcdef0123-640.jpg")
    );
    let with = |change: &dyn Fn(&mut ListingPortrait)| {
        let mut l = good.clone();
        change(l.portrait.as_mut().unwrap());
        l.check("rowan.example", &free)
    };
    for url in [
        "https://elsewhere.example/media/a-640.jpg",
        "https://rowan.example@elsewhere.example/a.jpg",
        "https://rowan.example/media/../../admin",
        "https://rowan.example/media/a.jpg?x=1",
        "https://rowan.example/media/a%20b.jpg",
        "https://rowan.example?/media/a.jpg",
        "https://rowan.example#/media/a.jpg",
        "https://rowan.example//elsewhere.example/a.jpg",
        "https://rowan.example",
        "data:image/png;base64,AAAA",
    ] {
        assert!(with(&|p| p.url = url.into()).is_err(), "{url}");
    }
    let long = format!("https://rowan.example/{}", "a".repeat(200));
    assert!(with(&|p| p.url = long.clone()).is_err());
    assert!(
        with(&|p| p.alt = "  ".into())
            .unwrap_err()
            .contains("no description")
    );
    assert!(with(&|p| p.alt = "a\u{0}b".into()).is_err());
    assert!(with(&|p| p.alt = "a".repeat(301)).is_err());
    assert!(with(&|p| p.width = 0).is_err());
    assert!(with(&|p| p.height = 20_000).is_err());
    // A listing without one (as published before portraits were) still reads and passes.
    let mut json = serde_json::to_value(&good).unwrap();
    json.as_object_mut().unwrap().remove("portrait");
    let old: Listing = serde_json::from_value(json).unwrap();
    assert_eq!(old.portrait, None);
    assert_eq!(old.check("rowan.example", &free), Ok(()));
    assert!(!serde_json::to_string(&old).unwrap().contains("portrait"));
}

#[test]
fn a_page_is_the_same_slice_of_the_whole_order() {
    let entries: Vec<Entry> = (0..37)
        .map(|i| {
            let mut l = listing(&format!("id-{i}"));
            if i % 3 == 0 {
                l.help_with = vec!["anxiety".into()];
            }
            entry(l, free_in(i64::from(i % 5)))
        })
        .collect();
    let s = search(RawSearch {
        help: vec!["anxiety".into(), "loss".into()],
        ..Default::default()
    });
    let all = order(&entries, &s, now(), 42);
    for page in 1..=5 {
        let (total, slice) = order_page(&entries, &Sieve::of(&entries), &s, now(), 42, page);
        assert_eq!(total, all.len());
        let expected: Vec<_> = all
            .iter()
            .skip((page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .cloned()
            .collect();
        assert_eq!(slice, expected, "page {page}");
    }
}

/// A search reads an entry's first few free times from its row, and the rest from the
/// entry once those have gone by: either way it finds what `FreeTimes::next` finds.
#[test]
fn the_sieve_finds_the_same_next_free_time_as_the_entry() {
    let days: Vec<Timestamp> = (1..=9).map(|d| now() + (d * 24).hours()).collect();
    let e = entry(
        listing("a"),
        FreeTimes {
            in_person: days.clone(),
            online: vec![now() + 30.hours()],
        },
    );
    let sieve = Sieve::of(std::slice::from_ref(&e));
    for hours_on in [0, 23, 25, 24 * 4 + 1, 24 * 6 + 1, 24 * 9 + 1] {
        let at = now() + hours_on.hours();
        for meeting in [Meeting::InPerson, Meeting::Online, Meeting::Either] {
            let raw = RawSearch {
                meeting: match meeting {
                    Meeting::InPerson => "in-person",
                    Meeting::Online => "online",
                    Meeting::Either => "",
                }
                .into(),
                ..Default::default()
            };
            let s = search(raw);
            let (_, page) = order_page(std::slice::from_ref(&e), &sieve, &s, at, 1, 1);
            let found = page.first().and_then(|(_, r)| r.next_free);
            let expected = if at.duration_since(e.heard) > jiff::SignedDuration::from_hours(24) {
                None
            } else {
                e.free.next(meeting, at)
            };
            assert_eq!(found, expected, "{meeting:?} {hours_on} hours on");
        }
    }
    // Within 7 days, five days on: the row's four times have gone, the entry has more.
    let s = search(RawSearch {
        meeting: "in-person".into(),
        within: "7".into(),
        ..Default::default()
    });
    let at = now() + (24 * 4 + 1).hours();
    assert!(rank(&e, &s, at).is_none(), "heard over a day before");
    let fresh = Entry::new(e.listing.clone(), e.free.clone(), at, false);
    assert_eq!(
        rank(&fresh, &s, at).and_then(|r| r.next_free),
        Some(now() + (5 * 24).hours())
    );
}
