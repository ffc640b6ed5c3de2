window.old = true;
