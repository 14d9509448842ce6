// Inline formulas cannot wrap; one wider than its column (a phone) would run off the screen.
// Once MathJax has typeset the page, give each such formula its own horizontal scroll box
// (class course-wide-math in course.css). Display formulas already scroll (course.css).
(function () {
  function markWide() {
    document.querySelectorAll("mjx-container:not([display])").forEach(function (math) {
      var column = math.parentElement;
      if (column && math.getBoundingClientRect().width > column.clientWidth) {
        math.classList.add("course-wide-math");
      }
    });
  }
  window.addEventListener("load", function () {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(markWide);
    }
  });
})();
