//! The HTML forms: the public enquiry and booking forms, the article editor, the office's
//! client, settings and contract forms, and the small value types they are made of. Web
//! forms go through the office's own readers (`web::fuzzing`), the rest straight to the
//! `domain` parsers they call.
//!
//! Properties: no form panics whatever is posted; an accepted value, filled back into its
//! form the way the office shows it for editing, is accepted again and unchanged (so saving
//! an edit form without touching it never fails and never changes anything).

use std::fmt::Debug;

use domain::{
    ArticleDraft, EmailAddress, FieldErrors, NewEnquiry, Pence, PersonName, PhoneNumber, Postcode,
    Slug,
    article::{ArticleForm, parse_tags},
    booking::{DetailsForm, VisitorDetails},
    directory::{ListingSettings, RawListingSettings},
    enquiry::EnquiryForm,
    practice::{
        BookingRules, FaqEntry, Location, PracticeDetails, PrivacySettings, RawPracticeDetails,
        RawPrivacySettings, SocialLink, TherapistProfile, parse_time, parse_weekday,
    },
    staff::SignInPolicy,
    therapy::{TherapySettingsForm, policy::PolicyForm},
};
use jiff::civil::{Time, date};
use web::fuzzing;

use crate::Input;

type Fields = Vec<(String, String)>;

/// Some of `names` with values, then a few repeats, as a browser (or anyone) could post.
fn fields(input: &mut Input<'_>, names: &[&str]) -> Fields {
    let mut out = Vec::new();
    for name in names {
        if input.bool() {
            out.push(((*name).to_owned(), input.text()));
        }
    }
    for _ in 0..input.below(4) {
        let name = names[input.below(names.len() as u32) as usize];
        out.push((name.to_owned(), input.text()));
    }
    out
}

fn pairs(values: &[(&str, String)]) -> Fields {
    values
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// `parse(value's own form) == Ok(value)`.
fn same<T: PartialEq + Debug>(what: &str, value: &T, again: Result<T, FieldErrors>) {
    match again {
        Ok(again) => assert_eq!(&again, value, "{what}: saved again, it changes"),
        Err(errors) => panic!("{what}: saved again, it is refused: {errors:?}\n{value:?}"),
    }
}

fn text_types(input: &mut Input<'_>) {
    let raw = input.text();
    if let Ok(v) = EmailAddress::parse(&raw) {
        same(
            "email",
            &v,
            EmailAddress::parse(v.as_str()).map_err(|_| FieldErrors::new()),
        );
    }
    if let Ok(v) = PersonName::parse(&raw) {
        same(
            "name",
            &v,
            PersonName::parse(v.as_str()).map_err(|_| FieldErrors::new()),
        );
    }
    if let Ok(v) = PhoneNumber::parse(&raw) {
        same(
            "phone",
            &v,
            PhoneNumber::parse(v.as_str()).map_err(|_| FieldErrors::new()),
        );
    }
    if let Ok(v) = Postcode::parse(&raw) {
        same(
            "postcode",
            &v,
            Postcode::parse(v.as_str()).map_err(|_| FieldErrors::new()),
        );
    }
    if let Ok(v) = Slug::parse(&raw) {
        same(
            "slug",
            &v,
            Slug::parse(v.as_str()).map_err(|_| FieldErrors::new()),
        );
    }
    if let Ok(v) = Slug::from_title(&raw) {
        same(
            "slug from a title",
            &v,
            Slug::parse(v.as_str()).map_err(|_| FieldErrors::new()),
        );
    }
    if let Ok(tags) = parse_tags(&raw) {
        let written: Vec<&str> = tags.iter().map(|t| t.slug().as_str()).collect();
        same(
            "tags",
            &tags,
            parse_tags(&written.join(", ")).map_err(|_| FieldErrors::new()),
        );
    }
    if let Ok(v) = Pence::parse_pounds(&raw) {
        same(
            "pounds",
            &v,
            Pence::parse_pounds(&v.to_string()).map_err(|_| FieldErrors::new()),
        );
    }
    if let Ok(t) = parse_time(&raw) {
        let written = if t == Time::MAX {
            "24:00".to_owned()
        } else {
            t.strftime("%H:%M").to_string()
        };
        same(
            "time",
            &t,
            parse_time(&written).map_err(|_| FieldErrors::new()),
        );
    }
    if let Ok(day) = parse_weekday(&raw) {
        let written = format!("{day:?}").to_lowercase();
        same(
            "weekday",
            &day,
            parse_weekday(&written).map_err(|_| FieldErrors::new()),
        );
    }
}

fn article(input: &mut Input<'_>) {
    let today = date(2026, 11, 25);
    let Some(a) = crate::front_matter::drafted(input, today) else {
        return;
    };
    let tags: Vec<&str> = a.tags.iter().map(|t| t.slug().as_str()).collect();
    let (tags, day) = (tags.join(", "), a.date.to_string());
    let again = ArticleForm {
        title: &a.title,
        slug: a.slug.as_str(),
        summary: &a.summary,
        body: &a.body,
        tags: &tags,
        date: &day,
        published: a.published,
    };
    same("article", &a, ArticleDraft::parse(&again, today));
}

fn enquiry(input: &mut Input<'_>) {
    let t: Vec<String> = (0..5).map(|_| input.text()).collect();
    let form = EnquiryForm {
        name: &t[0],
        email: &t[1],
        phone: &t[2],
        contact_preference: &t[3],
        message: &t[4],
        consent: input.bool(),
    };
    let Ok(e) = NewEnquiry::parse(&form) else {
        return;
    };
    let (name, email) = (e.name.to_string(), e.email.to_string());
    let phone = e
        .phone
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let again = EnquiryForm {
        name: &name,
        email: &email,
        phone: &phone,
        contact_preference: e.contact_preference.as_str(),
        message: &e.message,
        consent: true,
    };
    same("enquiry", &e, NewEnquiry::parse(&again));
}

fn booking_details(input: &mut Input<'_>) {
    let t: Vec<String> = (0..5).map(|_| input.text()).collect();
    let note_enabled = input.bool();
    let form = DetailsForm {
        name: &t[0],
        email: &t[1],
        phone: &t[2],
        contact_preference: &t[3],
        note: &t[4],
        consent: input.bool(),
    };
    let Ok(v) = VisitorDetails::parse(&form, note_enabled) else {
        return;
    };
    let (name, email) = (v.name.to_string(), v.email.to_string());
    let phone = v
        .phone
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let note = v.note.clone().unwrap_or_default();
    let again = DetailsForm {
        name: &name,
        email: &email,
        phone: &phone,
        contact_preference: v.contact_preference.as_str(),
        note: &note,
        consent: true,
    };
    same(
        "booking details",
        &v,
        VisitorDetails::parse(&again, note_enabled),
    );
}

fn client(input: &mut Input<'_>) {
    let posted = fields(
        input,
        &["name", "email", "phone", "contact_preference", "reminders"],
    );
    let Ok(c) = fuzzing::client_form(&posted) else {
        return;
    };
    let mut again = pairs(&[
        ("name", c.name.to_string()),
        ("email", c.email.to_string()),
        (
            "phone",
            c.phone
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ),
        (
            "contact_preference",
            c.contact_preference.as_str().to_owned(),
        ),
    ]);
    if c.reminders {
        again.push(("reminders".into(), "on".into()));
    }
    same("client", &c, fuzzing::client_form(&again));
}

fn practice_details(input: &mut Input<'_>) {
    let raw = RawPracticeDetails {
        name: input.text(),
        tagline: input.text(),
        time_zone: input.text(),
        notify_email: input.text(),
        public_phone: input.text(),
        intro: input.text(),
        how_i_work: input.text(),
    };
    let Ok(d) = PracticeDetails::parse(&raw) else {
        return;
    };
    same("practice details", &d, PracticeDetails::parse(&d.to_raw()));
}

fn profile(input: &mut Input<'_>) {
    let names = [
        "name",
        "title",
        "professional_body",
        "registration",
        "qualifications",
        "languages",
        "about",
    ];
    let posted = fields(input, &names);
    let Ok(p) = TherapistProfile::parse(&fuzzing::profile_form(&posted)) else {
        return;
    };
    let raw = p.to_raw();
    let again = pairs(&[
        ("name", raw.name),
        ("title", raw.title),
        ("professional_body", raw.professional_body),
        ("registration", raw.registration),
        ("qualifications", raw.qualifications.join("\n")),
        ("languages", raw.languages.join("\n")),
        ("about", raw.about),
    ]);
    same(
        "profile",
        &p,
        TherapistProfile::parse(&fuzzing::profile_form(&again)),
    );
}

fn location(input: &mut Input<'_>) {
    let names = [
        "slug",
        "name",
        "online",
        "address_lines",
        "postcode",
        "latitude",
        "longitude",
        "summary",
        "getting_there",
        "accessibility",
        "building",
    ];
    let posted = fields(input, &names);
    let (raw, errors) = fuzzing::location_form(&posted);
    let Ok(l) = Location::parse(&raw) else { return };
    if !errors.is_empty() {
        return;
    }
    let raw = l.to_raw();
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut again = pairs(&[
        ("slug", raw.slug),
        ("name", raw.name),
        ("address_lines", raw.address_lines.join("\n")),
        ("postcode", raw.postcode),
        ("latitude", number(raw.latitude)),
        ("longitude", number(raw.longitude)),
        ("summary", raw.summary),
        ("getting_there", raw.getting_there),
        ("accessibility", raw.accessibility),
        ("building", raw.building),
    ]);
    if raw.online {
        again.push(("online".into(), "on".into()));
    }
    let (raw, errors) = fuzzing::location_form(&again);
    assert!(errors.is_empty(), "{errors:?}");
    same("location", &l, Location::parse(&raw));
}

fn booking_rules(input: &mut Input<'_>) {
    let names = [
        "bookable_online",
        "locations",
        "buffer_before",
        "buffer_after",
        "travel_minutes",
        "notice_hours",
        "horizon_days",
        "granularity_minutes",
    ];
    let posted = fields(input, &names);
    let mut errors = FieldErrors::new();
    let Some(rules) = BookingRules::parse(&fuzzing::booking_rules_form(&posted), &mut errors)
    else {
        return;
    };
    if !errors.is_empty() {
        return;
    }
    let raw = rules.to_raw();
    let mut again = pairs(&[
        ("buffer_before", raw.buffer_before),
        ("buffer_after", raw.buffer_after),
        ("travel_minutes", raw.travel_minutes),
        ("notice_hours", raw.notice_hours),
        ("horizon_days", raw.horizon_days),
        ("granularity_minutes", raw.granularity_minutes),
    ]);
    again.extend(
        raw.locations
            .into_iter()
            .map(|l| ("locations".to_owned(), l)),
    );
    if raw.bookable_online {
        again.push(("bookable_online".into(), "on".into()));
    }
    let mut errors = FieldErrors::new();
    let parsed = BookingRules::parse(&fuzzing::booking_rules_form(&again), &mut errors);
    same(
        "booking rules",
        &rules,
        parsed.filter(|_| errors.is_empty()).ok_or(errors),
    );
}

fn contract(input: &mut Input<'_>) {
    let names = [
        "kind",
        "focus",
        "sessions",
        "reviews_at",
        "review_every_weeks",
        "frequency",
        "day",
        "time",
        "day2",
        "time2",
        "location",
        "minutes",
        "fee",
        "start",
    ];
    let posted = fields(input, &names);
    let locations = [
        Slug::parse("balham").expect("slug"),
        Slug::parse("online").expect("slug"),
    ];
    let version = 1 + input.below(5);
    let Ok(terms) = fuzzing::contract_form(&posted, &locations, version) else {
        return;
    };
    same(
        "contract",
        &terms,
        fuzzing::contract_refilled(&terms, &locations, version),
    );
}

fn rows(input: &mut Input<'_>) {
    let posted = fields(input, &["a", "b"]);
    for (a, b) in fuzzing::rows_form(&posted) {
        if let Ok(link) = SocialLink::parse(&a, &b) {
            same("link", &link, SocialLink::parse(&link.label, &link.url));
        }
        if let Ok(faq) = FaqEntry::parse(&a, &b) {
            same("FAQ", &faq, FaqEntry::parse(&faq.question, &faq.answer));
        }
    }
}

fn settings(input: &mut Input<'_>) {
    let t: Vec<String> = (0..11).map(|_| input.text()).collect();
    let _ = PolicyForm {
        notice_hours: &t[0],
        grace_minutes: &t[1],
        late_cancellation_percent: &t[2],
        did_not_attend_percent: &t[3],
        free_late_cancellations: &t[4],
        free_period_days: &t[5],
    }
    .parse(1);
    let _ = TherapySettingsForm {
        session_reminder_hours: &t[6],
        break_notice_days: &t[7],
        invoice_mode: &t[8],
        bank_details: &t[9],
        payment_terms_days: &t[10],
    }
    .parse();
    let _ = SignInPolicy::parse(input.bool(), &t[0]);
    let _ = domain::measures::plan::parse_every(&t[1]);
    let raw = RawPrivacySettings {
        controller: t[3].clone(),
        ico_registration: t[4].clone(),
        retention_years: input.bool().then(|| input.u32()),
        extra: t[5].clone(),
    };
    let _ = PrivacySettings::parse(&raw);
    let list = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
    let listing = RawListingSettings {
        listed: input.bool(),
        help_with: list(&t[6]),
        approaches: list(&t[7]),
        ways: list(&t[8]),
        concession_places: t[9].clone(),
        concession_fee: t[10].clone(),
        body: input.text(),
        number: input.text(),
        accepting: input.bool(),
        identity: input.text(),
    };
    if let Ok(settings) = ListingSettings::parse(&listing) {
        same(
            "listing",
            &settings,
            ListingSettings::parse(&settings.to_raw()),
        );
    }
}

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    match input.byte() % 12 {
        0 => text_types(&mut input),
        1 => article(&mut input),
        2 => enquiry(&mut input),
        3 => booking_details(&mut input),
        4 => client(&mut input),
        5 => practice_details(&mut input),
        6 => profile(&mut input),
        7 => location(&mut input),
        8 => booking_rules(&mut input),
        9 => contract(&mut input),
        10 => rows(&mut input),
        _ => settings(&mut input),
    }
}
