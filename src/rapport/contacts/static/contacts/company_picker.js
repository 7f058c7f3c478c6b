// contacts: the company picker of the list filters (contacts/widgets/company_picker.html).
// htmx fills the listbox with the companies matching what is typed; arrows move through
// them, Enter or a click adds the company as a chip holding a hidden <name>=<id> input,
// Escape closes the list, and each chip's button takes it off again.
(function () {
  "use strict";

  function pickerOf(element) {
    return element.closest("[data-company-picker]");
  }

  function part(picker, name) {
    return picker.querySelector("[data-picker-" + name + "]");
  }

  function options(picker) {
    return Array.prototype.slice.call(
      part(picker, "options").querySelectorAll("[role=option][data-company-id]")
    );
  }

  function announce(picker, label, name) {
    part(picker, "status").textContent = picker.getAttribute(label).replace("%s", name);
  }

  function close(picker) {
    var search = part(picker, "search");
    part(picker, "options").innerHTML = "";
    search.setAttribute("aria-expanded", "false");
    search.removeAttribute("aria-activedescendant");
  }

  function move(picker, step) {
    var all = options(picker);
    if (!all.length) {
      return;
    }
    var search = part(picker, "search");
    var current = all.indexOf(document.getElementById(search.getAttribute("aria-activedescendant")));
    var next = current + step;
    if (next < 0) {
      next = all.length - 1;
    } else if (next >= all.length) {
      next = 0;
    }
    all.forEach(function (option) {
      option.setAttribute("aria-selected", "false");
    });
    all[next].setAttribute("aria-selected", "true");
    all[next].scrollIntoView({ block: "nearest" });
    search.setAttribute("aria-activedescendant", all[next].id);
  }

  function choose(picker, option) {
    var id = option.getAttribute("data-company-id");
    var name = option.getAttribute("data-company-name");
    var chips = part(picker, "chips");
    var already = Array.prototype.some.call(chips.querySelectorAll("input"), function (input) {
      return input.value === id;
    });
    if (!already) {
      var chip = part(picker, "chip-template").content.firstElementChild.cloneNode(true);
      chip.querySelector("input").value = id;
      chip.querySelector("span").textContent = name;
      var remove = chip.querySelector("[data-picker-remove]");
      remove.setAttribute("aria-label", remove.getAttribute("data-label").replace("%s", name));
      chips.appendChild(chip);
      announce(picker, "data-added-label", name);
    }
    var search = part(picker, "search");
    search.value = "";
    close(picker);
    search.focus();
  }

  document.addEventListener("keydown", function (event) {
    var search = event.target.closest && event.target.closest("[data-picker-search]");
    if (!search) {
      return;
    }
    var picker = pickerOf(search);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      move(picker, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter") {
      var active = document.getElementById(search.getAttribute("aria-activedescendant"));
      if (active) {
        event.preventDefault();
        choose(picker, active);
      } else if (search.value.trim()) {
        // Half-typed text is not a filter: Enter on an empty box applies the filters.
        event.preventDefault();
      } else if (search.closest("form")) {
        // The box belongs to no form (see the template), so Enter would not submit the one
        // around it as it does from any other filter box.
        event.preventDefault();
        search.closest("form").requestSubmit();
      }
    } else if (event.key === "Escape" && search.getAttribute("aria-expanded") === "true") {
      event.preventDefault();
      close(picker);
    }
  });

  document.addEventListener("click", function (event) {
    var option = event.target.closest("[data-company-picker] [role=option][data-company-id]");
    if (option) {
      choose(pickerOf(option), option);
      return;
    }
    var remove = event.target.closest("[data-picker-remove]");
    if (remove) {
      var picker = pickerOf(remove);
      var chip = remove.closest("[data-picker-chip]");
      announce(picker, "data-removed-label", chip.querySelector("span").textContent);
      chip.remove();
      part(picker, "search").focus();
      return;
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-company-picker]"), function (picker) {
      if (!picker.contains(event.target)) {
        close(picker);
      }
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.target;
    if (!list.hasAttribute || !list.hasAttribute("data-picker-options")) {
      return;
    }
    var picker = pickerOf(list);
    var search = part(picker, "search");
    search.removeAttribute("aria-activedescendant");
    Array.prototype.forEach.call(list.querySelectorAll("[role=option]"), function (option, index) {
      option.id = list.id + "-" + index;
    });
    if (!list.querySelector("[role=option]")) {
      list.innerHTML = "";
    }
    search.setAttribute("aria-expanded", list.children.length ? "true" : "false");
  });
})();
