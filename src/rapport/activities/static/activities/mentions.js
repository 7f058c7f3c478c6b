// activities: @mention suggestions in a note. Typing "@" and letters in a textarea with
// data-mentions asks the server (htmx) for matching colleagues; ArrowUp/ArrowDown move
// through them, Enter or Tab picks one ("@username "), Escape closes the list.
(function () {
  "use strict";

  var TOKEN = /(^|[^\w@])@([\w.+-]*)$/;
  var DELAY_MS = 150;
  var timer = null;

  function listFor(textarea) {
    return document.getElementById(textarea.getAttribute("aria-controls"));
  }

  function options(textarea) {
    var list = listFor(textarea);
    return list ? Array.prototype.slice.call(list.querySelectorAll("[role=option]")) : [];
  }

  function tokenBeforeCaret(textarea) {
    var match = TOKEN.exec(textarea.value.slice(0, textarea.selectionStart));
    return match ? match[2] : null;
  }

  function close(textarea) {
    var list = listFor(textarea);
    if (list) {
      list.innerHTML = "";
    }
    textarea.setAttribute("aria-expanded", "false");
    textarea.removeAttribute("aria-activedescendant");
  }

  function suggest(textarea) {
    var token = tokenBeforeCaret(textarea);
    if (token === null) {
      close(textarea);
      return;
    }
    var url = textarea.getAttribute("data-mentions") + "?q=" + encodeURIComponent(token);
    htmx.ajax("GET", url, { target: listFor(textarea), swap: "innerHTML" }).then(function () {
      textarea.setAttribute("aria-expanded", options(textarea).length ? "true" : "false");
      textarea.removeAttribute("aria-activedescendant");
    });
  }

  function move(textarea, step) {
    var found = options(textarea);
    if (!found.length) {
      return;
    }
    var current = found.indexOf(document.getElementById(textarea.getAttribute("aria-activedescendant")));
    var next = (current + step + found.length) % found.length;
    if (current === -1 && step < 0) {
      next = found.length - 1;
    }
    found.forEach(function (option) {
      option.setAttribute("aria-selected", "false");
    });
    found[next].setAttribute("aria-selected", "true");
    found[next].scrollIntoView({ block: "nearest" });
    textarea.setAttribute("aria-activedescendant", found[next].id);
  }

  function pick(textarea, option) {
    var caret = textarea.selectionStart;
    var before = textarea.value.slice(0, caret).replace(/@[\w.+-]*$/, "@" + option.getAttribute("data-handle") + " ");
    textarea.value = before + textarea.value.slice(caret);
    textarea.setSelectionRange(before.length, before.length);
    close(textarea);
    textarea.focus();
  }

  document.addEventListener("input", function (event) {
    var textarea = event.target.closest && event.target.closest("textarea[data-mentions]");
    if (!textarea) {
      return;
    }
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { suggest(textarea); }, DELAY_MS);
  });

  document.addEventListener("keydown", function (event) {
    var textarea = event.target.closest && event.target.closest("textarea[data-mentions]");
    if (!textarea || textarea.getAttribute("aria-expanded") !== "true") {
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      move(textarea, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter" || event.key === "Tab") {
      var chosen = document.getElementById(textarea.getAttribute("aria-activedescendant"));
      if (chosen) {
        event.preventDefault();
        pick(textarea, chosen);
      }
    } else if (event.key === "Escape") {
      event.preventDefault();
      close(textarea);
    }
  });

  // mousedown rather than click: the textarea keeps its focus and caret.
  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest(".mention-options [role=option]");
    if (!option) {
      return;
    }
    event.preventDefault();
    var textarea = document.querySelector("textarea[aria-controls='" + option.parentElement.id + "']");
    if (textarea) {
      pick(textarea, option);
    }
  });
})();
