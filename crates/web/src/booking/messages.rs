//! The emails a booking sends: to the visitor (with a calendar file) and a neutral notice
//! to the therapist that never repeats anything the visitor typed.

use domain::{booking::BookingStatus, practice::Location};
use jiff::Timestamp;
use mail::ics::{self, Event, Method};
use store::{Booking, CalendarAttachment, NewBooking, NewMessage};

use super::{Offer, duration_words};
use crate::Here;

/// Where to turn in a crisis, for the end of a sentence that says when ("If you need help
/// before we meet: …"). Every email that carries urgent help uses these words.
pub(crate) const URGENT_HELP: &str = "in an emergency call 999 or go to A&E. For urgent mental \
health help call NHS 111 and choose option 2. Samaritans are there day and night on 116 123, \
and you can text SHOUT to 85258.";

/// The calendar event for a booking.
/// The parts of a booking a calendar event is made from.
pub(crate) struct Appointment<'a> {
    pub uid: &'a str,
    pub sequence: u32,
    pub start: Timestamp,
    pub end: Timestamp,
    pub status: BookingStatus,
    pub visitor: &'a domain::booking::VisitorDetails,
}

impl<'a> Appointment<'a> {
    /// A stored booking as it is now.
    pub fn of(booking: &'a Booking) -> Self {
        Self {
            uid: &booking.uid,
            sequence: booking.sequence,
            start: booking.start,
            end: booking.end,
            status: booking.status,
            visitor: &booking.visitor,
        }
    }
}

/// The calendar event for a booking.
pub(crate) fn event(
    offer: &Offer,
    location: &Location,
    a: Appointment<'_>,
    manage_url: Option<&str>,
) -> Event {
    let therapist = offer.practice.therapist.name.to_string();
    let place = if location.online {
        "Online (video link sent by email)".to_owned()
    } else {
        let mut parts = location.address_lines.clone();
        if let Some(postcode) = &location.postcode {
            parts.push(postcode.to_string());
        }
        parts.join(", ")
    };
    let description = match manage_url {
        Some(url) => format!(
            "{} with {therapist}.\nTo change or cancel: {url}",
            offer.kind.name
        ),
        None => format!("{} with {therapist}.", offer.kind.name),
    };
    Event {
        uid: a.uid.to_owned(),
        sequence: a.sequence,
        start: a.start,
        end: a.end,
        summary: format!("{} with {therapist}", offer.kind.name),
        location: place,
        description,
        status: match a.status {
            BookingStatus::Confirmed => "CONFIRMED",
            BookingStatus::Requested => "TENTATIVE",
            _ => "CANCELLED",
        },
        organizer: Some((therapist, offer.practice.details.notify_email.to_string())),
        attendee: Some((a.visitor.name.to_string(), a.visitor.email.to_string())),
    }
}

fn attachment(method: Method, event: Event, now: Timestamp) -> Option<CalendarAttachment> {
    Some(CalendarAttachment {
        method: method.as_str().to_owned(),
        ics: ics::calendar(method, &[event], now, None),
    })
}

pub(crate) fn place_line(location: &Location) -> String {
    if location.online {
        "Online, by video. I will email you the link the day before; find a private, quiet place and use headphones if you can.".to_owned()
    } else {
        let mut parts = location.address_lines.clone();
        if let Some(postcode) = &location.postcode {
            parts.push(postcode.to_string());
        }
        parts.join(", ")
    }
}

fn therapist_notice(state: &Here, offer: &Offer, subject: &str, what: String) -> NewMessage {
    NewMessage {
        kind: "booking_notice".into(),
        to: offer.practice.details.notify_email.clone(),
        subject: subject.to_owned(),
        body_text: format!(
            "{what}\n\nSee it in your back office: {}/office\n\n-- \nSent by Anteroom for your practice website.\n",
            state.public_url()
        ),
        calendar: None,
    }
}

/// Messages for a new booking or request.
pub(crate) fn booked(
    state: &Here,
    offer: &Offer,
    booking: &NewBooking,
    manage_url: &str,
    now: Timestamp,
) -> Vec<NewMessage> {
    let Ok(location) = offer.location(booking.location.as_str()) else {
        return Vec::new();
    };
    let when = offer.when(booking.start);
    let practice = &offer.practice.details.name;
    let cutoff = duration_words(offer.kind.booking.notice_minutes);
    let confirmed = booking.status == BookingStatus::Confirmed;
    let (subject, opening) = if confirmed {
        (
            format!("Your first consultation is booked: {when}"),
            "Your first consultation is booked.".to_owned(),
        )
    } else {
        (
            format!("Your consultation request: {when}"),
            "Thank you for your request. I will confirm it by email, usually within a day; the time is held for you until then.".to_owned(),
        )
    };
    let body = format!(
        "Dear {name},\n\n{opening}\n\nWhen:  {when} (UK time)\nWhere: {place}\nFee:   {fee}\n\n\
         To change or cancel, up to {cutoff} before it starts, use this private link:\n{manage_url}\n\n\
         If you need help before we meet: {URGENT_HELP}\n\n{practice}\n",
        name = booking.visitor.name,
        place = place_line(location),
        fee = offer.kind.fee,
    );
    // A request is sent as a tentative event, so it shows in the visitor's calendar as
    // pencilled in; accepting it sends the same UID again, confirmed, with a higher SEQUENCE.
    let appointment = Appointment {
        uid: &booking.uid,
        sequence: 0,
        start: booking.start,
        end: booking.end,
        status: booking.status,
        visitor: &booking.visitor,
    };
    let calendar = attachment(
        Method::Request,
        event(offer, location, appointment, Some(manage_url)),
        now,
    );
    let visitor = NewMessage {
        kind: if confirmed {
            "booking_confirmation".into()
        } else {
            "booking_request_received".into()
        },
        to: booking.visitor.email.clone(),
        subject,
        body_text: body,
        calendar,
    };
    let what = if confirmed {
        format!(
            "A first consultation has been booked for {when}, {}.",
            location.name
        )
    } else {
        format!(
            "A first consultation has been requested for {when}, {}. Please accept or decline it.",
            location.name
        )
    };
    let subject = if confirmed {
        "New consultation booked"
    } else {
        "New consultation request"
    };
    vec![visitor, therapist_notice(state, offer, subject, what)]
}

/// Messages when the visitor cancels.
pub(crate) fn cancelled(
    state: &Here,
    offer: &Offer,
    booking: &Booking,
    now: Timestamp,
) -> Vec<NewMessage> {
    let Ok(location) = offer.location(booking.location.as_str()) else {
        return Vec::new();
    };
    let when = offer.when(booking.start);
    let appointment = Appointment {
        sequence: booking.sequence + 1,
        status: BookingStatus::Cancelled,
        ..Appointment::of(booking)
    };
    let event = event(offer, location, appointment, None);
    let visitor = NewMessage {
        kind: "booking_cancelled".into(),
        to: booking.visitor.email.clone(),
        subject: format!("Cancelled: your consultation on {when}"),
        body_text: format!(
            "Dear {},\n\nYour first consultation on {when} has been cancelled, as you asked. There is no charge.\n\n\
             If you would like to book another time: {}/book\n\nIf you need help before we meet: {URGENT_HELP}\n\n{}\n",
            booking.visitor.name,
            state.public_url(),
            offer.practice.details.name
        ),
        calendar: attachment(Method::Cancel, event, now),
    };
    vec![
        visitor,
        therapist_notice(
            state,
            offer,
            "Consultation cancelled",
            format!(
                "The first consultation on {when}, {}, has been cancelled by the client.",
                location.name
            ),
        ),
    ]
}

/// Messages when the visitor moves a booking.
/// Messages when a booking is moved: by the visitor through their link (`manage_url` is
/// known then), or by the therapist from the office (it is not: only its hash is stored).
pub(crate) fn moved(
    state: &Here,
    offer: &Offer,
    before: &Booking,
    to: &domain::availability::Slot,
    manage_url: Option<&str>,
    now: Timestamp,
) -> Vec<NewMessage> {
    let Ok(location) = offer.location(to.location.as_str()) else {
        return Vec::new();
    };
    let when = offer.when(to.start);
    let appointment = Appointment {
        sequence: before.sequence + 1,
        start: to.start,
        end: to.end,
        ..Appointment::of(before)
    };
    let event = event(offer, location, appointment, manage_url);
    let (opening, change) = match manage_url {
        Some(url) => (
            "Your first consultation has been moved, as you asked.".to_owned(),
            format!("To change or cancel: {url}"),
        ),
        None => (
            format!(
                "I am sorry to have to move our first consultation, which was on {}. I hope the new time suits you; if not, please reply and we will find another.",
                offer.when(before.start)
            ),
            "You can still change or cancel it with the link in your first email.".to_owned(),
        ),
    };
    let visitor = NewMessage {
        kind: "booking_moved".into(),
        to: before.visitor.email.clone(),
        subject: format!("Changed: your consultation is now {when}"),
        body_text: format!(
            "Dear {},\n\n{opening}\n\nWhen:  {when} (UK time)\nWhere: {}\n\n{change}\n\nIf you need help before we meet: {URGENT_HELP}\n\n{}\n",
            before.visitor.name,
            place_line(location),
            offer.practice.details.name
        ),
        calendar: attachment(Method::Request, event, now),
    };
    if manage_url.is_none() {
        return vec![visitor];
    }
    let what = format!(
        "A first consultation has been moved by the client from {} to {when}, {}.",
        offer.when(before.start),
        location.name
    );
    vec![
        visitor,
        therapist_notice(state, offer, "Consultation moved", what),
    ]
}

/// Messages when the therapist accepts a request.
pub(crate) fn accepted(offer: &Offer, booking: &Booking, now: Timestamp) -> Vec<NewMessage> {
    let Ok(location) = offer.location(booking.location.as_str()) else {
        return Vec::new();
    };
    let when = offer.when(booking.start);
    let appointment = Appointment {
        sequence: booking.sequence + 1,
        status: BookingStatus::Confirmed,
        ..Appointment::of(booking)
    };
    let event = event(offer, location, appointment, None);
    vec![NewMessage {
        kind: "booking_confirmation".into(),
        to: booking.visitor.email.clone(),
        subject: format!("Confirmed: your first consultation on {when}"),
        body_text: format!(
            "Dear {},\n\nGood news: your first consultation is confirmed.\n\nWhen:  {when} (UK time)\nWhere: {}\nFee:   {}\n\n\
             You can change or cancel it with the link in your first email.\n\nIf you need help before we meet: {URGENT_HELP}\n\n{}\n",
            booking.visitor.name,
            place_line(location),
            offer.kind.fee,
            offer.practice.details.name
        ),
        calendar: attachment(Method::Request, event, now),
    }]
}

/// Messages when the therapist declines a request or cancels a booking, with their own words.
pub(crate) fn declined_or_cancelled(
    offer: &Offer,
    booking: &Booking,
    cancelled: bool,
    words: &str,
    now: Timestamp,
) -> Vec<NewMessage> {
    let Ok(location) = offer.location(booking.location.as_str()) else {
        return Vec::new();
    };
    let when = offer.when(booking.start);
    let appointment = Appointment {
        sequence: booking.sequence + 1,
        status: BookingStatus::Cancelled,
        ..Appointment::of(booking)
    };
    let event = event(offer, location, appointment, None);
    let subject = if cancelled {
        format!("Cancelled: your consultation on {when}")
    } else {
        format!("Your consultation request for {when}")
    };
    vec![NewMessage {
        kind: if cancelled {
            "booking_cancelled".into()
        } else {
            "booking_declined".into()
        },
        to: booking.visitor.email.clone(),
        subject,
        body_text: format!(
            "Dear {},\n\n{}\n\nIf you need help before we meet: {URGENT_HELP}\n\n{}\n",
            booking.visitor.name,
            words.trim(),
            offer.practice.details.name
        ),
        calendar: if booking.status.is_active() {
            attachment(Method::Cancel, event, now)
        } else {
            None
        },
    }]
}

/// The therapist's default words for declining a request (editable before sending).
pub(crate) fn default_decline_words(offer: &Offer, booking: &Booking) -> String {
    format!(
        "Thank you for asking to meet on {}. I am sorry that I cannot offer that time. \
         You are welcome to choose another time on my website, or reply to this email and we can find one together.",
        offer.when(booking.start)
    )
}

/// The therapist's default words for cancelling a booking (editable before sending).
pub(crate) fn default_cancel_words(offer: &Offer, booking: &Booking) -> String {
    format!(
        "I am very sorry, but I need to cancel our first consultation on {}. There is no charge. \
         I will be in touch to offer another time, or you can choose one on my website.",
        offer.when(booking.start)
    )
}

/// The visitor's reminder: neutral, the practice's name only, nothing about therapy or
/// crisis lines, because reminders are often read on a shared or locked-screen phone.
pub(crate) fn reminder(
    offer: &Offer,
    booking: &Booking,
    manage_url_hint: &str,
) -> Option<NewMessage> {
    let location = offer.location(booking.location.as_str()).ok()?;
    let when = offer.when(booking.start);
    Some(NewMessage {
        kind: "booking_reminder".into(),
        to: booking.visitor.email.clone(),
        subject: format!("Reminder: {when}"),
        body_text: format!(
            "Dear {},\n\nA reminder of your appointment with {}.\n\nWhen:  {when} (UK time)\nWhere: {}\n\n\
             To change or cancel, use the link in your confirmation email{manage_url_hint}.\n\n{}\n",
            booking.visitor.name,
            offer.practice.details.name,
            place_line(location),
            offer.practice.details.name
        ),
        calendar: None,
    })
}

/// The visitor's message when a request was not answered in time.
pub(crate) fn expired(state: &Here, offer: &Offer, booking: &Booking) -> Vec<NewMessage> {
    let when = offer.when(booking.start);
    vec![NewMessage {
        kind: "booking_expired".into(),
        to: booking.visitor.email.clone(),
        subject: format!("Your consultation request for {when}"),
        body_text: format!(
            "Dear {},\n\nI am sorry: I was not able to confirm your request for {when} in time, so the time has been released.\n\n\
             You are welcome to choose another time at {}/book, or send me a message at {}/contact.\n\nIf you need help before we meet: {URGENT_HELP}\n\n{}\n",
            booking.visitor.name,
            state.public_url(),
            state.public_url(),
            offer.practice.details.name
        ),
        calendar: None,
    }]
}
