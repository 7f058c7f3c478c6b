// The kanban board: drag a card onto another column (or onto Won / Lost) to move it.
// Dropping submits the card's own "Move" form, the same one keyboard users open, so the
// server sees one kind of request whichever way the deal was moved.
(function () {
  "use strict";

  var board = document.querySelector("[data-board]");
  if (!board) {
    return;
  }
  var dragged = null;

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card[draggable]");
    if (!card) {
      return;
    }
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal"));
  });

  document.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("is-dragging");
    }
    dragged = null;
    document.querySelectorAll(".board-drop.is-over").forEach(function (zone) {
      zone.classList.remove("is-over");
    });
  });

  document.querySelectorAll(".board-drop").forEach(function (zone) {
    zone.addEventListener("dragover", function (event) {
      if (dragged) {
        event.preventDefault();
        zone.classList.add("is-over");
      }
    });
    zone.addEventListener("dragleave", function () {
      zone.classList.remove("is-over");
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("is-over");
      if (!dragged) {
        return;
      }
      var form = document.querySelector('[data-move-form="' + dragged.getAttribute("data-deal") + '"]');
      var stage = zone.getAttribute("data-stage");
      if (!form || form.elements.stage.value === stage) {
        return;
      }
      form.elements.stage.value = stage;
      dragged.classList.add("is-moving");
      form.requestSubmit();
    });
  });
})();
