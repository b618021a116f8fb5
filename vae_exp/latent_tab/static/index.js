// The LATENT tab of vae-exp's TensorBoard plugin `vae_latent`.
//
// TensorBoard loads this module in an iframe whose base URL is the plugin's
// route prefix (/data/plugin/vae_latent/), so every fetch below is relative.
// All decoding happens server-side with the run's own model; this page only
// asks for pictures and never runs more than one decode request at a time:
// while one is on its way, slider moves only update the vector that the next
// request will carry, so the picture always catches up with the latest position.

const SLIDER_RANGE = 3; // sliders span -3 .. 3 prior standard deviations
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
  '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const MAP_SIZE = 360;

const STYLE = `
  body { font-family: Roboto, sans-serif; margin: 16px; color: #212121; }
  .bar { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; margin-bottom: 12px; }
  .panes { display: flex; gap: 28px; flex-wrap: wrap; align-items: flex-start; }
  .pane { max-width: 420px; }
  .pane h3 { font-size: 14px; margin: 14px 0 6px 0; font-weight: 500; }
  .slider { display: grid; grid-template-columns: 120px 220px 56px; align-items: center; }
  .slider label { font-size: 13px; }
  .slider output { font-family: monospace; font-size: 12px; text-align: right; }
  img.picture { image-rendering: pixelated; border: 1px solid #ddd; background: #eee; }
  #decoded { width: 280px; height: 280px; object-fit: contain; }
  #traversal { width: 400px; }
  img.picture:not([src]) { display: none; }
  #picked { width: 280px; }
  .error { color: #c62828; font-size: 13px; }
  .note { color: #616161; font-size: 12px; }
  circle.point { cursor: pointer; stroke: none; }
  circle.point.chosen { stroke: #000; stroke-width: 2; }
  .legend span { margin-right: 10px; font-size: 12px; }
`;

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.appendChild(child);
  return node;
}

function svgElement(tag, attributes = {}) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

async function fetchText(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(await response.text());
  return response;
}

// Runs `draw` one call at a time: requests made while it runs become one more run after it,
// which draws the latest state. A slider's picture so catches up instead of queueing.
class OneAtATime {
  constructor(draw, failed) {
    this.draw = draw;
    this.failed = failed;
    this.running = false;
    this.again = false;
  }

  async request() {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        await this.draw();
      } while (this.again);
    } catch (error) {
      this.failed(error);
    } finally {
      this.running = false;
    }
  }
}

class LatentTab {
  constructor(root) {
    this.root = root;
    this.runs = [];
    this.run = null;
    this.z = [];
    this.movedDim = null;
    const failed = (error) => { this.status.textContent = String(error.message || error); };
    this.decodes = new OneAtATime(() => this.drawDecoded(), failed);
    this.traversals = new OneAtATime(() => this.drawTraversal(), failed);
    this.mapPoints = [];
  }

  async start() {
    document.head.appendChild(element('style', {text: STYLE}));
    this.runSelect = element('select', {id: 'run'});
    this.labelSelect = element('select', {id: 'label'});
    this.labelBox = element('label', {id: 'label-box', text: 'class '}, [this.labelSelect]);
    this.resetButton = element('button', {id: 'reset', text: 'Reset to prior mean'});
    this.randomButton = element('button', {id: 'random', text: 'Random draw from the prior'});
    this.status = element('div', {id: 'status', class: 'error'});
    this.sliders = element('div', {id: 'sliders'});
    this.decoded = element('img', {id: 'decoded', class: 'picture', alt: 'decoded image'});
    this.timing = element('div', {id: 'timing', class: 'note'});
    this.traversal = element('img', {id: 'traversal', class: 'picture', alt: 'traversal'});
    this.traversalTitle = element('h3', {text: 'Traversal: move a slider'});
    this.mapAxes = element('select', {id: 'map-axes'});
    this.map = svgElement('svg', {id: 'map', width: MAP_SIZE, height: MAP_SIZE});
    this.legend = element('div', {class: 'legend', id: 'legend'});
    this.mapNote = element('div', {id: 'map-note', class: 'note'});
    this.picked = element('img', {id: 'picked', class: 'picture', alt: 'image and reconstruction'});
    this.root.appendChild(element('div', {class: 'bar'}, [
      element('label', {text: 'run '}, [this.runSelect]), this.labelBox,
      this.resetButton, this.randomButton]));
    this.root.appendChild(this.status);
    // Three columns: the sliders and the traversal strip, the decoded and the clicked images, the map.
    this.root.appendChild(element('div', {class: 'panes'}, [
      element('div', {class: 'pane'}, [
        element('h3', {text: 'Latent dimensions, by KL (most used first)'}), this.sliders,
        this.traversalTitle, this.traversal]),
      element('div', {class: 'pane'}, [
        element('h3', {text: 'Decoded'}), this.decoded, this.timing,
        element('h3', {text: 'Clicked image and its reconstruction'}), this.picked]),
      element('div', {class: 'pane'}, [
        element('h3', {text: 'Map of the validation images'}),
        element('label', {text: 'axes '}, [this.mapAxes]),
        element('div', {}, [this.map]), this.legend, this.mapNote]),
    ]));

    this.runSelect.addEventListener('change', () => this.choose(this.runSelect.value));
    this.labelSelect.addEventListener('change', () => this.redraw());
    this.resetButton.addEventListener('click', () => this.setVector(this.z.map(() => 0)));
    this.randomButton.addEventListener('click', () => this.setVector(this.z.map(gaussian)));
    this.mapAxes.addEventListener('change', () => this.loadMap());
    await this.loadRuns();
  }

  async loadRuns() {
    const listing = await (await fetchText('runs')).json();
    this.runs = listing.runs;
    this.runSelect.replaceChildren();
    for (const run of this.runs) {
      const text = run.error ? `${run.run} (cannot be read: ${run.error})` : run.run;
      const option = element('option', {value: run.run, text});
      if (run.error) option.disabled = true;
      this.runSelect.appendChild(option);
    }
    const readable = this.runs.filter((run) => !run.error);
    if (!readable.length) {
      this.status.textContent = this.runs.length ?
        'No run here can be read: ' + this.runs.map((r) => `${r.run}: ${r.error}`).join('; ') :
        `No vae-exp run with a checkpoint under ${listing.logdir}.`;
      return;
    }
    this.runSelect.value = readable[0].run;
    await this.choose(readable[0].run);
  }

  async choose(name) {
    this.run = this.runs.find((run) => run.run === name);
    this.status.textContent = '';
    this.z = new Array(this.run.latent_dim).fill(0);
    this.movedDim = this.run.slider_order[0];
    this.labelBox.style.display = this.run.conditional ? '' : 'none';
    this.labelSelect.replaceChildren(...(this.run.classes || []).map((c) =>
      element('option', {value: c, text: this.run.class_names[c] ?? String(c)})));
    this.buildSliders();
    this.buildAxes();
    this.redraw();
    await this.loadMap();
  }

  buildSliders() {
    this.sliders.replaceChildren();
    this.inputs = [];
    for (const dim of this.run.slider_order) {
      const kl = this.run.kl ? ` (KL ${this.run.kl[dim].toFixed(2)})` : '';
      const input = element('input', {
        type: 'range', id: `slider-${dim}`, min: -SLIDER_RANGE, max: SLIDER_RANGE,
        step: 0.05, value: 0, 'data-dim': dim});
      const shown = element('output', {id: `value-${dim}`, text: '0.00'});
      input.addEventListener('input', () => {
        this.z[dim] = Number(input.value);
        shown.textContent = this.z[dim].toFixed(2);
        this.movedDim = dim;
        this.redraw();
      });
      this.inputs[dim] = {input, shown};
      this.sliders.appendChild(element('div', {class: 'slider'}, [
        element('label', {for: `slider-${dim}`, text: `z${dim}${kl}`}), input, shown]));
    }
  }

  buildAxes() {
    const order = this.run.slider_order;
    const options = this.run.latent_dim === 2 ? [['0,1', 'z0 × z1']] : [['', 'PCA']];
    const top = order.slice(0, 4);
    for (let i = 0; i < top.length; i++) {
      for (let j = i + 1; j < top.length; j++) {
        if (this.run.latent_dim === 2) continue;
        options.push([`${top[i]},${top[j]}`, `z${top[i]} × z${top[j]}`]);
      }
    }
    this.mapAxes.replaceChildren(...options.map(([value, text]) =>
      element('option', {value, text})));
  }

  // The vector is kept exactly (a map point may lie beyond a slider's end, where it then rests).
  setVector(values) {
    this.z = values.map(Number);
    for (const [dim, value] of this.z.entries()) {
      this.inputs[dim].input.value = value;
      this.inputs[dim].shown.textContent = value.toFixed(2);
    }
    this.redraw();
  }

  query(extra = '') {
    const label = this.run.conditional ? `&label=${this.labelSelect.value}` : '';
    const z = this.z.map((value) => String(Number(value))).join(',');
    return `run=${encodeURIComponent(this.run.run)}&z=${z}${label}${extra}`;
  }

  // The decoded picture first; the traversal strip is asked for once it is shown.
  redraw() {
    this.requestedAt = performance.now();
    this.decodes.request();
  }

  async drawDecoded() {
    const query = this.query();
    const requestedAt = this.requestedAt;
    const picture = await fetchText(`decode?${query}`);
    await this.show(this.decoded, await picture.blob(), query);
    const took = performance.now() - requestedAt;
    this.decoded.dataset.ms = took.toFixed(1);
    this.timing.textContent = `on screen ${Math.round(took)} ms after the move`;
    this.traversals.request();
  }

  async drawTraversal() {
    const dim = this.movedDim;
    const query = `${this.query()}&dim=${dim}`;
    const strip = await fetchText(`traversal?${query}`);
    await this.show(this.traversal, await strip.blob(), query);
    this.traversalTitle.textContent = `Traversal of z${dim}`;
  }

  // Resolves once the picture is on the screen; data-query then says which request it answers.
  show(image, blob, query) {
    return new Promise((resolve) => {
      const old = image.src;
      image.onload = () => {
        image.dataset.query = query;
        if (old.startsWith('blob:')) URL.revokeObjectURL(old);
        resolve();
      };
      image.onerror = () => resolve();
      image.src = URL.createObjectURL(blob);
    });
  }

  async loadMap() {
    const dims = this.mapAxes.value ? `&dims=${this.mapAxes.value}` : '';
    this.map.replaceChildren();
    this.mapNote.textContent = 'Encoding the validation images…';
    let answer;
    try {
      answer = await (await fetchText(`map?run=${encodeURIComponent(this.run.run)}${dims}`)).json();
    } catch (error) {
      this.mapNote.textContent = String(error.message || error);
      return;
    }
    if (answer.error) {
      this.mapNote.textContent = `No map: ${answer.error}`;
      return;
    }
    this.drawMap(answer);
  }

  drawMap(answer) {
    const points = answer.points;
    const xs = points.map((p) => p.x);
    const ys = points.map((p) => p.y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const margin = 12;
    const scale = (v, lo, hi) => margin + (MAP_SIZE - 2 * margin) * (hi > lo ? (v - lo) / (hi - lo) : 0.5);
    const classes = [...new Set(points.map((p) => p.label))].sort((a, b) => a - b);
    const colour = (label) => PALETTE[classes.indexOf(label) % PALETTE.length];
    this.map.appendChild(svgElement('rect', {
      x: 0, y: 0, width: MAP_SIZE, height: MAP_SIZE, fill: '#fafafa', stroke: '#ddd'}));
    for (const point of points) {
      const circle = svgElement('circle', {
        class: 'point', r: 4, fill: colour(point.label), 'fill-opacity': 0.75,
        cx: scale(point.x, x0, x1).toFixed(1),
        cy: (MAP_SIZE - scale(point.y, y0, y1)).toFixed(1),
        'data-index': point.index, 'data-label': point.label});
      const title = svgElement('title');
      title.textContent = `${answer.class_names[point.label] ?? point.label} #${point.index}`;
      circle.appendChild(title);
      circle.addEventListener('click', () => this.pick(point, circle));
      this.map.appendChild(circle);
    }
    this.legend.replaceChildren(...classes.map((label) => element('span', {
      style: `color: ${colour(label)}`, text: `● ${answer.class_names[label] ?? label}`})));
    this.mapNote.textContent = `${points.length} validation images; axes ${answer.axes.join(', ')}`;
  }

  async pick(point, circle) {
    for (const chosen of this.map.querySelectorAll('circle.chosen')) chosen.classList.remove('chosen');
    circle.classList.add('chosen');
    if (this.run.conditional) this.labelSelect.value = String(point.label);
    this.setVector(point.z);
    try {
      const pair = await fetchText(`image?run=${encodeURIComponent(this.run.run)}&index=${point.index}`);
      this.show(this.picked, await pair.blob(), String(point.index));
    } catch (error) {
      this.status.textContent = String(error.message || error);
    }
  }
}

function gaussian() {
  const u = 1 - Math.random();
  const v = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export async function render() {
  await new LatentTab(document.body).start();
}
