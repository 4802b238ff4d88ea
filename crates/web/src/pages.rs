//! A cache of rendered public pages.
//!
//! Public pages change only when the therapist edits something, yet are read constantly.
//! Each rendered page is kept until any content changes, when the whole cache is dropped.
//! Only anonymous GETs of public pages are cached; forms and the back office never are.
//! (Hosted mode with several processes will need a shared invalidation signal.)

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::body::Bytes;

/// A rendered page: its body and content type.
#[derive(Debug, Clone)]
pub(crate) struct CachedPage {
    pub body: Bytes,
    pub content_type: &'static str,
    pub status: u16,
}

/// Most pages kept at once (bounded so a crawler of odd URLs cannot grow memory).
const MAX_PAGES: usize = 2_000;

#[derive(Default)]
pub(crate) struct PageCache {
    pages: RwLock<HashMap<String, Arc<CachedPage>>>,
    pub(crate) site: RwLock<Option<minijinja::Value>>,
    /// What can be booked, and when: read on every availability request.
    pub(crate) offer: RwLock<Option<Arc<crate::booking::Offer>>>,
    /// Photo variants read lately.
    pub(crate) media: crate::photos::MediaCache,
    /// Bumped on every change, so a page rendered from older content is never kept.
    generation: AtomicU64,
}

impl PageCache {
    pub fn get(&self, key: &str) -> Option<Arc<CachedPage>> {
        self.pages.read().ok()?.get(key).cloned()
    }

    /// The content generation; take it before reading what a page is rendered from.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keep a page rendered at `generation`, unless content has changed since.
    pub fn put(&self, key: String, page: CachedPage, generation: u64) -> Arc<CachedPage> {
        let page = Arc::new(page);
        if let Ok(mut pages) = self.pages.write() {
            if self.generation() != generation {
                return page;
            }
            if pages.len() >= MAX_PAGES {
                pages.clear();
            }
            pages.insert(key, page.clone());
        }
        page
    }

    /// Drop the rendered pages and answers only (bookings changed; settings did not).
    pub fn clear_pages(&self) {
        if let Ok(mut pages) = self.pages.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            pages.clear();
        }
    }

    pub fn clear(&self) {
        if let Ok(mut pages) = self.pages.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            pages.clear();
        }
        if let Ok(mut site) = self.site.write() {
            *site = None;
        }
        self.media.clear();
        if let Ok(mut offer) = self.offer.write() {
            *offer = None;
        }
    }
}
