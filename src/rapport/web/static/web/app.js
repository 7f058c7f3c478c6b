// Rapport's own behaviour: keyboard shortcuts, search type-ahead, theme switch, mobile navigation.
(function () {
  "use strict";

  function isTyping(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) {
      return;
    }
    var search = document.querySelector("[data-search-shortcut]");
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  });

  function currentTheme() {
    var chosen = document.documentElement.getAttribute("data-theme");
    if (chosen) {
      return chosen;
    }
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-theme-toggle]");
    if (toggle) {
      var next = currentTheme() === "dark" ? "light" : "dark";
      document.documentElement.setAttribute("data-theme", next);
      try {
        localStorage.setItem("rapport-theme", next);
      } catch (error) {
        // Without storage the choice lasts for this page only.
      }
      return;
    }
    var navToggle = event.target.closest("[data-nav-toggle]");
    if (navToggle) {
      var sidebar = document.getElementById(navToggle.getAttribute("aria-controls"));
      var open = sidebar.classList.toggle("open");
      navToggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
  });

  // Header search type-ahead: htmx fills the list under the box; arrows move through
  // its options, Enter opens the chosen one (or the results page), Escape closes it.
  function suggestionsFor(input) {
    return document.getElementById(input.getAttribute("aria-controls"));
  }

  function closeSuggestions(input) {
    var list = suggestionsFor(input);
    if (list) {
      list.innerHTML = "";
    }
    input.removeAttribute("aria-activedescendant");
  }

  function moveSuggestion(input, step) {
    var options = Array.prototype.slice.call(
      suggestionsFor(input).querySelectorAll("[role=option][href]")
    );
    if (!options.length) {
      return;
    }
    var current = options.indexOf(document.getElementById(input.getAttribute("aria-activedescendant")));
    var next = current + step;
    if (next < 0) {
      next = options.length - 1;
    } else if (next >= options.length) {
      next = 0;
    }
    options.forEach(function (option) {
      option.setAttribute("aria-selected", "false");
    });
    options[next].setAttribute("aria-selected", "true");
    options[next].scrollIntoView({ block: "nearest" });
    input.setAttribute("aria-activedescendant", options[next].id);
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target.closest && event.target.closest("[aria-controls][data-search-shortcut]");
    if (!input || !suggestionsFor(input)) {
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      moveSuggestion(input, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter") {
      var chosen = document.getElementById(input.getAttribute("aria-activedescendant"));
      if (chosen && chosen.href) {
        event.preventDefault();
        window.location.assign(chosen.href);
      }
    } else if (event.key === "Escape") {
      closeSuggestions(input);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var input = document.querySelector("[aria-controls='" + event.target.id + "'][data-search-shortcut]");
    if (input) {
      input.removeAttribute("aria-activedescendant");
    }
  });

  document.addEventListener("click", function (event) {
    var input = document.querySelector("[aria-controls][data-search-shortcut]");
    if (input && !event.target.closest(".global-search")) {
      closeSuggestions(input);
    }
  });

  // Confirm destructive actions declared with data-confirm="…" (no inline handlers).
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
})();

// contacts: select rows for bulk actions, show the bulk action's own fields, add formset
// rows, and keep Enter in a company lookup box from submitting its form.
(function () {
  "use strict";

  function rowBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-row-select]"));
  }

  function showSelectedCount() {
    var counter = document.querySelector("[data-selected-count]");
    if (!counter) {
      return;
    }
    var count = rowBoxes().filter(function (box) { return box.checked; }).length;
    counter.textContent = count
      ? counter.getAttribute("data-selected-label").replace("%s", count)
      : counter.getAttribute("data-none-label");
  }

  function showBulkFields(form) {
    var chosen = form.elements.action ? form.elements.action.value : "";
    Array.prototype.forEach.call(form.querySelectorAll("[data-bulk-for]"), function (field) {
      field.hidden = field.getAttribute("data-bulk-for").split(" ").indexOf(chosen) === -1;
    });
  }

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-all]");
    if (all) {
      rowBoxes().forEach(function (box) { box.checked = all.checked; });
    }
    if (all || event.target.closest("[data-row-select]")) {
      showSelectedCount();
    }
    var bulk = event.target.closest("[data-bulk]");
    if (bulk && event.target.name === "action") {
      showBulkFields(bulk);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-bulk") || form.elements.action.value !== "delete") {
      return;
    }
    var everything = form.elements.scope && form.elements.scope.value === "filtered";
    if (!window.confirm(form.getAttribute(everything ? "data-confirm-delete-all" : "data-confirm-delete"))) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-formset-add]");
    if (!add) {
      return;
    }
    var prefix = add.getAttribute("data-formset-add");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById(prefix + "-empty");
    var rows = document.querySelector("[data-formset-rows='" + prefix + "']");
    rows.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, total.value));
    total.value = String(Number(total.value) + 1);
    var first = rows.lastElementChild.querySelector("input, select, textarea");
    if (first) {
      first.focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.closest("[data-lookup]")) {
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-bulk]"), showBulkFields);
  });

  // Tag colours come as data-tag-color: the Content-Security-Policy refuses style=""
  // attributes, but not a property set from a script.
  function paintTags(root) {
    var badges = Array.prototype.slice.call(root.querySelectorAll("[data-tag-color]"));
    if (root.matches && root.matches("[data-tag-color]")) {
      badges.push(root);
    }
    badges.forEach(function (badge) {
      badge.style.setProperty("--tag-color", badge.getAttribute("data-tag-color"));
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    paintTags(document);
  });
  document.addEventListener("htmx:load", function (event) {
    paintTags(event.target);
  });
})();
