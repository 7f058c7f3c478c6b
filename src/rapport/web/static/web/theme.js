// Applies the saved light/dark choice before the page paints, so it never flashes.
(function () {
  try {
    var theme = localStorage.getItem("rapport-theme");
    if (theme === "light" || theme === "dark") {
      document.documentElement.setAttribute("data-theme", theme);
    }
  } catch (error) {
    // Storage can be disabled; the system preference then decides.
  }
})();
