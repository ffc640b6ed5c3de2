// The gallery's lightbox: a classic script, loaded (and pushed) only when the page is
// rendered with the lightbox on (gallery.html pushes it inside {% if lightbox %}).
(function () {
  'use strict';
  var dialog = document.createElement('dialog');
  dialog.className = 'lightbox';
  var big = document.createElement('img');
  big.alt = '';
  dialog.appendChild(big);
  document.body.appendChild(dialog);
  // Any click, or Escape (the dialog's own behaviour), closes it.
  dialog.addEventListener('click', function () { dialog.close(); });

  document.querySelectorAll('.tile img, .hero img').forEach(function (img) {
    img.addEventListener('click', function () {
      big.src = img.currentSrc || img.src; // already downloaded: no new request
      big.alt = img.alt;
      dialog.showModal();
    });
  });
})();
