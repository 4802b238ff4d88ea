// Autosave for notes: the only script in the back office, and optional (the form's own
// "Save" button works without it). While the therapist types, the note is sent to the
// server two seconds after the last key press and every 20 seconds during long typing.
// Until the server has confirmed a save, a copy is kept in this tab's sessionStorage (never
// localStorage: it is gone when the tab closes) so that a reload or a lost connection does
// not lose what was typed; the copy is removed as soon as the server has it.
(function () {
  "use strict";
  var IDLE_MS = 2000;
  var MAX_WAIT_MS = 20000;

  function setUp(form) {
    var box = form.querySelector("textarea[name=note]");
    var status = form.querySelector("[data-autosave-status]");
    var idField = form.querySelector("input[name=note_id]");
    if (!box || !status) return;
    var key = "anteroom-draft:" + form.getAttribute("action");
    var saved = box.value;
    var timer = null;
    var firstUnsaved = 0;
    var inFlight = false;

    function say(text) {
      status.textContent = text;
    }

    function keepDraft() {
      try {
        window.sessionStorage.setItem(key, box.value);
      } catch (e) {
        /* storage full or switched off: the server save still runs */
      }
    }

    function dropDraft() {
      try {
        window.sessionStorage.removeItem(key);
      } catch (e) {
        /* nothing to do */
      }
    }

    function save() {
      timer = null;
      if (inFlight) {
        schedule(IDLE_MS);
        return;
      }
      var text = box.value;
      if (text === saved) return;
      if (text.trim() === "") {
        say("Not saved: an empty note is not kept.");
        return;
      }
      inFlight = true;
      say("Saving…");
      var body = new URLSearchParams();
      body.set("note", text);
      if (idField && idField.value) body.set("note_id", idField.value);
      fetch(form.getAttribute("action"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        redirect: "manual",
        headers: { "X-Autosave": "1", Accept: "application/json" },
      })
        .then(function (response) {
          if (response.type === "opaqueredirect" || response.status === 401) {
            throw new Error("signed-out");
          }
          return response.json().then(function (answer) {
            if (!response.ok) throw new Error(answer.message || "not-saved");
            return answer;
          });
        })
        .then(function (answer) {
          saved = text;
          firstUnsaved = 0;
          if (idField && answer.id) idField.value = answer.id;
          if (box.value === saved) dropDraft();
          say("Saved at " + answer.saved + ".");
        })
        .catch(function (error) {
          keepDraft();
          if (error.message === "signed-out") {
            say("Not saved: you have been signed out. Your words are kept in this tab; sign in again in another tab, then come back here and they will be saved.");
          } else {
            say("Not saved yet: " + (error.message === "not-saved" || error.message === "Failed to fetch" ? "the connection was lost" : error.message) + ". Trying again…");
          }
          schedule(5000);
        })
        .then(function () {
          inFlight = false;
        });
    }

    function schedule(ms) {
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(save, ms);
    }

    box.addEventListener("input", function () {
      keepDraft();
      var now = Date.now();
      if (!firstUnsaved) firstUnsaved = now;
      say("Changes not saved yet.");
      schedule(now - firstUnsaved > MAX_WAIT_MS ? 0 : IDLE_MS);
    });

    // Pressing Save sends the form the ordinary way; the copy in this tab stays until a
    // page shows the server has the words (if the session had ended, the Save lands on the
    // sign-in page, and the copy is what brings the words back afterwards).
    form.addEventListener("submit", function () {
      saved = box.value;
    });

    window.addEventListener("beforeunload", function (event) {
      if (box.value !== saved) {
        event.preventDefault();
        event.returnValue = "";
      }
    });

    var draft = null;
    try {
      draft = window.sessionStorage.getItem(key);
    } catch (e) {
      draft = null;
    }
    if (draft !== null && draft !== box.value) {
      box.value = draft;
      say("What you typed before has been put back. Saving it now…");
      schedule(0);
    } else {
      dropDraft();
      say("Saved automatically as you type.");
    }
  }

  var forms = document.querySelectorAll("form[data-autosave]");
  for (var i = 0; i < forms.length; i++) setUp(forms[i]);
})();
