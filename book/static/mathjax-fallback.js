// The book bundles MathJax in _static/mathjax/. Only if that copy did not load (a site copied
// without its _static folder) is MathJax fetched from a CDN, which needs a network.
window.addEventListener("load", function () {
  var local = document.querySelector('script[src*="mathjax/tex-chtml.js"]');
  if (!local || (window.MathJax && window.MathJax.version)) {
    return;
  }
  var cdn = document.createElement("script");
  cdn.src = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-chtml.js";
  cdn.async = true;
  document.head.appendChild(cdn);
});
