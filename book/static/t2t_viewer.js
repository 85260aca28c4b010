/* The book's linked 3-D slice viewer (t2tcore.figures.viewer writes the data; NiiVue draws).
 *
 * A classic script (no ES modules): the pages load it, after _static/niivue/niivue.umd.js, from
 * the small bootstrap that t2tcore.figures.viewer.slice_viewer puts in the page, so it works when
 * the book is opened from file://. Volumes come embedded (base64 .nii.gz) and are read from
 * ArrayBuffers: nothing is fetched.
 *
 * One viewer = two rows, each a NiiVue instance in a multiplanar row (axial, coronal, sagittal)
 * showing one series picked with buttons. The rows share one crosshair (in mm), hence one slice,
 * and one zoom; window presets and the difference toggle apply to both. Display is nearest-
 * neighbour, so each thick slice shows as a band of its own spacing at its own position.
 *
 * window.T2TViewer.viewers lists the mounted viewers (the browser test drives them): each has
 * ready (a Promise), rows[i].nv (the NiiVue instance), rows[i].name, step(n), moveTo(zmm),
 * show(row, name), setWindow(name), setDifference(on), differenceOf(name) and slice(row).
 */
(function () {
  "use strict";
  if (window.T2TViewer) return;

  var ROW_LAYOUT = 3, RENDER_NEVER = 0, DRAG_NONE = 0; // NiiVue's MULTIPLANAR_TYPE.ROW, SHOW_RENDER.NEVER, DRAG_MODE.none
  // differences: cyan, blue (series darker), black (equal), red, yellow (series brighter)
  var DIFF_MAP = {R: [0, 0, 0, 255, 255], G: [255, 0, 0, 0, 255], B: [255, 255, 0, 0, 0], A: [255, 255, 255, 255, 255],
                  I: [0, 64, 128, 192, 255]};

  function bufferOf(b64) {
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function hasWebGL2() {
    try { return !!document.createElement("canvas").getContext("webgl2"); } catch (e) { return false; }
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function Viewer(root, data) {
    this.root = root;
    this.data = data;
    this.byName = {};
    for (var i = 0; i < data.series.length; i++) this.byName[data.series[i].name] = data.series[i];
    this.window = data.window;
    this.diff = false;
    this.syncing = false;
    this.mm = null;
    this.diffs = {};
    this.parsed = {};
  }

  Viewer.prototype.mount = async function () {
    var d = this.data, self = this;
    var ui = el("div", "t2t-viewer-ui");
    var bar = el("div", "t2t-viewer-controls");
    bar.appendChild(el("span", "t2t-viewer-label", "Window"));
    this.winButtons = {};
    Object.keys(d.windows).forEach(function (w) {
      var lw = d.windows[w], b = el("button", "t2t-viewer-button", w);
      b.type = "button";
      b.title = "level " + lw[0] + " HU, width " + lw[1] + " HU";
      b.addEventListener("click", function () { self.setWindow(w); });
      self.winButtons[w] = b;
      bar.appendChild(b);
    });
    var lab = el("label", "t2t-viewer-toggle");
    this.diffBox = el("input");
    this.diffBox.type = "checkbox";
    this.diffBox.addEventListener("change", function () { self.setDifference(self.diffBox.checked); });
    lab.appendChild(this.diffBox);
    lab.appendChild(document.createTextNode(" difference to " + d.reference));
    bar.appendChild(lab);
    [["slice ▲", function () { self.step(1); }], ["slice ▼", function () { self.step(-1); }],
     ["zoom +", function () { self.zoom(1.25); }], ["zoom −", function () { self.zoom(0.8); }],
     ["reset", function () { self.zoom(0); }]].forEach(function (x) {
      var b = el("button", "t2t-viewer-button", x[0]);
      b.type = "button";
      b.addEventListener("click", x[1]);
      bar.appendChild(b);
    });
    ui.appendChild(bar);
    this.rows = [];
    var height = this.canvasHeight();
    for (var r = 0; r < 2; r++) {
      var row = {pick: el("div", "t2t-viewer-pick"), box: el("div", "t2t-viewer-canvas"), status: el("div", "t2t-viewer-status"),
                 buttons: {}, images: {}, diffImages: {}, name: null};
      row.box.style.height = height + "px";
      var canvas = el("canvas");
      row.box.appendChild(canvas);
      d.series.forEach(function (s) {
        var b = el("button", "t2t-viewer-button", s.name);
        b.type = "button";
        b.title = s.info;
        b.addEventListener("click", (function (rr, name) { return function () { self.show(rr, name); }; })(r, s.name));
        row.buttons[s.name] = b;
        row.pick.appendChild(b);
      });
      ui.appendChild(row.pick);
      ui.appendChild(row.box);
      ui.appendChild(row.status);
      this.rows.push(row);
    }
    this.root.insertBefore(ui, this.root.querySelector(".t2t-viewer-caption"));
    for (r = 0; r < 2; r++) {
      var nv = new niivue.Niivue({
        backColor: [0, 0, 0, 1], isRadiologicalConvention: true, isNearestInterpolation: true,
        multiplanarLayout: ROW_LAYOUT, multiplanarShowRender: RENDER_NEVER, dragMode: DRAG_NONE,
        isColorbar: false, crosshairWidth: 0.6, crosshairWidthUnit: "percent", crosshairColor: [1, 0.2, 0.2, 0.9],
        show3Dcrosshair: false,
        loadingText: "", logLevel: "error", isOrientCube: false
      });
      this.rows[r].nv = nv;
      this.wrap(nv);
      await nv.attachToCanvas(this.rows[r].box.querySelector("canvas"));
      nv.addColormap("t2tdiff", DIFF_MAP);
      nv.setSliceType(nv.sliceTypeMultiplanar);
    }
    for (r = 0; r < 2; r++) await this.show(r, d.show[r], true);
    var first = this.rows[0].nv.volumes[0];
    var mm = first.vox2mm([d.start[0], d.start[1], 0], first.matRAS);
    mm[2] = d.start[2];
    this.moveTo(mm);
    this.setWindow(this.window);
    this.root.addEventListener("keydown", function (e) {
      var k = e.key, n = {ArrowUp: 1, PageUp: 1, ArrowDown: -1, PageDown: -1}[k];
      if (n) { self.step(n); e.preventDefault(); }
      else if (k === "+" || k === "=") { self.zoom(1.25); e.preventDefault(); }
      else if (k === "-") { self.zoom(0.8); e.preventDefault(); }
    });
  };

  Viewer.prototype.canvasHeight = function () {
    // a row of three tiles on one mm scale: axial (X x Y), coronal (X x Z), sagittal (Y x Z)
    var d = this.data, c = d.crop, ref = this.byName[d.reference];
    var Y = (c[1] - c[0]) * d.pixel_mm[0], X = (c[3] - c[2]) * d.pixel_mm[1];
    var Z = ref.rows.length * ref.dz;
    var w = Math.max(320, this.root.clientWidth || 700);
    return Math.round(Math.min(420, Math.max(140, w * Math.max(Y, Z) / (2 * X + Y))));
  };

  Viewer.prototype.wrap = function (nv) {
    var self = this, draw = nv.drawScene.bind(nv);
    nv.drawScene = function () {
      var out = draw();
      if (!self.syncing && nv.volumes.length) self.follow(nv);
      return out;
    };
  };

  /* another row moved (click, wheel, keys): every row goes to the same mm and zoom */
  Viewer.prototype.follow = function (src) {
    var mm = Array.from(src.frac2mm(src.scene.crosshairPos)).slice(0, 3);
    var pan = Array.from(src.scene.pan2Dxyzmm);
    var same = this.mm && this.pan && mm.every(function (v, i) { return Math.abs(v - this.mm[i]) < 1e-4; }, this)
      && pan.every(function (v, i) { return Math.abs(v - this.pan[i]) < 1e-6; }, this);
    if (same) return;
    this.mm = mm;
    this.pan = pan;
    this.syncing = true;
    try {
      for (var r = 0; r < this.rows.length; r++) {
        var nv = this.rows[r].nv;
        if (nv === src || !nv.volumes.length) continue;
        nv.scene.crosshairPos = nv.mm2frac(mm);
        nv.scene.pan2Dxyzmm = pan.slice();
        nv.drawScene();
      }
    } finally { this.syncing = false; }
    this.status();
  };

  Viewer.prototype.moveTo = function (mm) {
    this.mm = null;
    var nv = this.rows[0].nv;
    nv.scene.crosshairPos = nv.mm2frac(mm);
    nv.drawScene();
  };

  /* the slice row r shows at the crosshair: [index, position mm], or [-1, NaN] where its series has none */
  Viewer.prototype.slice = function (r) {
    var s = this.byName[this.rows[r].name], z = this.mm ? this.mm[2] : s.positions[0];
    var row = Math.round((z - s.z0) / s.dz);
    var k = row >= 0 && row < s.rows.length ? s.rows[row] : -1;
    return k >= 0 ? [k, s.positions[k]] : [-1, NaN];
  };

  /* move n slices of the top row's series (one slice index for both rows) */
  Viewer.prototype.step = function (n) {
    var s = this.byName[this.rows[0].name], z = this.mm[2], k = this.slice(0)[0];
    if (k < 0) {  // beyond the series: from its nearest end
      k = z < s.positions[0] ? (n > 0 ? -1 : 0) : (n < 0 ? s.positions.length : s.positions.length - 1);
    }
    k = Math.max(0, Math.min(s.positions.length - 1, k + n));
    var mm = this.mm.slice();
    mm[2] = s.positions[k];
    this.moveTo(mm);
  };

  Viewer.prototype.zoom = function (f) {
    var nv = this.rows[0].nv, pan = nv.scene.pan2Dxyzmm;
    pan[3] = f ? Math.max(0.5, Math.min(8, pan[3] * f)) : 1;
    if (!f) { pan[0] = 0; pan[1] = 0; pan[2] = 0; }
    nv.drawScene();
  };

  /* each series parsed once; the rows show copies (a NiiVue image belongs to one instance) */
  Viewer.prototype.base = function (name) {
    if (!this.parsed[name]) {
      var s = this.byName[name];
      this.parsed[name] = niivue.NVImage.new(bufferOf(s.nii), s.file);
    }
    return this.parsed[name];
  };

  Viewer.prototype.copy = function (img, name, data) {
    var c = img.clone();
    c.name = name;
    if (data) c.img = data;
    return c;
  };

  Viewer.prototype.image = async function (r, name) {
    var row = this.rows[r];
    if (!this.diff || name === this.data.reference) {
      if (!row.images[name]) row.images[name] = this.copy(await this.base(name), name);
      return row.images[name];
    }
    if (!row.diffImages[name]) {
      row.diffImages[name] = this.copy(await this.base(name), name + " - " + this.data.reference,
                                       await this.differenceOf(name));
      this.applyWindow(row.diffImages[name], name);
    }
    return row.diffImages[name];
  };

  Viewer.prototype.show = async function (r, name, initial) {
    var row = this.rows[r], nv = row.nv, mm = this.mm;
    var img = await this.image(r, name);
    var old = nv.volumes.slice();
    row.name = name;
    this.syncing = true;
    try {
      if (old.indexOf(img) < 0) {
        nv.addVolume(img);
        old.forEach(function (v) { nv.removeVolume(v); });
      }
      this.applyWindow(img, name);
      nv.setInterpolation(true);
      nv.updateGLVolume();
      if (mm) nv.scene.crosshairPos = nv.mm2frac(mm);
      if (!initial) nv.scene.pan2Dxyzmm = this.rows[1 - r].nv.scene.pan2Dxyzmm.slice();
      nv.drawScene();
    } finally { this.syncing = false; }
    Object.keys(row.buttons).forEach(function (k) { row.buttons[k].classList.toggle("t2t-on", k === name); });
    this.status();
  };

  /* the colormap first: NiiVue's colormap setter recomputes cal_min/cal_max from the data */
  Viewer.prototype.applyWindow = function (img, name) {
    var lo, hi, map;
    if (this.diff && name !== this.data.reference) {
      lo = -this.data.diff_range; hi = this.data.diff_range; map = "t2tdiff";
    } else {
      var lw = this.data.windows[this.window];
      lo = lw[0] - lw[1] / 2; hi = lw[0] + lw[1] / 2; map = "gray";
    }
    if (img.colormap !== map) img.colormap = map;
    img.cal_min = lo;
    img.cal_max = hi;
  };

  Viewer.prototype.setWindow = function (w) {
    this.window = w;
    var self = this;
    Object.keys(this.winButtons).forEach(function (k) { self.winButtons[k].classList.toggle("t2t-on", k === w); });
    this.rows.forEach(function (row) {
      if (!row.nv.volumes.length) return;
      self.applyWindow(row.nv.volumes[0], row.name);
      row.nv.updateGLVolume();
    });
  };

  Viewer.prototype.setDifference = async function (on) {
    this.diff = !!on;
    this.diffBox.checked = this.diff;
    for (var r = 0; r < this.rows.length; r++) await this.show(r, this.rows[r].name);
  };

  /* series minus the reference interpolated linearly along z (mm) at the series' own slice
     positions, on the series' display grid; int16 HU, 0 outside the reference's range (the same
     as t2tcore.figures.viewer.difference) */
  Viewer.prototype.differenceOf = async function (name) {
    if (this.diffs[name]) return this.diffs[name];
    var s = this.byName[name], ref = this.byName[this.data.reference];
    var A = (await this.base(name)).img, R = (await this.base(ref.name)).img;
    var nxy = A.length / s.rows.length, out = new Int16Array(A.length), rp = ref.positions, n = rp.length;
    for (var row = 0; row < s.rows.length; row++) {
      if (s.rows[row] < 0) continue;
      var p = s.positions[s.rows[row]];
      if (p < rp[0] - 1e-6 || p > rp[n - 1] + 1e-6) continue;
      var j = 0;
      while (j < n - 2 && rp[j + 1] <= p) j++;
      var w = n > 1 ? Math.min(1, Math.max(0, (p - rp[j]) / (rp[j + 1] - rp[j]))) : 0;
      var a = row * nxy, b0 = ref.slice_rows[j] * nxy, b1 = ref.slice_rows[Math.min(j + 1, n - 1)] * nxy;
      for (var i = 0; i < nxy; i++) {
        var v = A[a + i] - ((1 - w) * R[b0 + i] + w * R[b1 + i]);
        out[a + i] = Math.max(-32768, Math.min(32767, Math.round(v)));
      }
    }
    this.diffs[name] = out;
    return out;
  };

  Viewer.prototype.status = function () {
    if (!this.mm) return;
    for (var r = 0; r < this.rows.length; r++) {
      var row = this.rows[r];
      if (!row.name) continue;
      var s = this.byName[row.name], k = this.slice(r);
      row.status.textContent = row.name + (this.diff && row.name !== this.data.reference ? " − " + this.data.reference : "")
        + ": " + (k[0] < 0 ? "no slice here" : "slice " + (k[0] + 1) + " of " + s.positions.length + " at z = "
        + k[1].toFixed(1) + " mm") + " (crosshair z = " + this.mm[2].toFixed(1) + " mm)";
    }
  };

  var viewers = [];

  async function mount(root, data) {
    var note = root.querySelector(".t2t-viewer-note");
    if (!hasWebGL2()) {
      note.textContent = "This browser has no WebGL2, which the slice viewer needs; the static figure above shows these volumes.";
      return null;
    }
    if (!window.niivue) {
      note.textContent = "The slice viewer could not start (NiiVue missing); the static figure above shows these volumes.";
      return null;
    }
    var v = new Viewer(root, data);
    viewers.push(v);
    v.ready = v.mount().then(function () { note.style.display = "none"; return v; }, function (e) {
      note.textContent = "The slice viewer failed (" + e + "); the static figure above shows these volumes.";
      console.error("t2t viewer " + data.id + ": " + (e && e.stack ? e.stack : e));
      throw e;
    });
    return v;
  }

  window.T2TViewer = {mount: mount, viewers: viewers};
})();
