// The submission page: htmx polls the result; once it is graded, draw the trace charts.
(function () {
  "use strict";
  var charts = [];

  // A diverged run stores its infinities and NaN as strings: they are gaps in the line.
  function numbers(values) {
    return values.map(function (v) { return typeof v === "number" ? v : null; });
  }

  function line(label, data, color, dashed) {
    return {
      label: label,
      data: numbers(data),
      borderColor: color,
      backgroundColor: color,
      borderDash: dashed ? [6, 4] : [],
      pointRadius: 0,
      borderWidth: dashed ? 2 : 1.5,
      spanGaps: false,
    };
  }

  function draw() {
    var holder = document.getElementById("series-data");
    if (!holder || !window.Chart) return;
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    var payload = JSON.parse(holder.textContent);
    var series = payload.series, labels = payload.labels;
    var steps = series.reference.loss.map(function (_, index) { return index; });
    var options = {
      animation: false,
      responsive: true,
      interaction: { mode: "index", intersect: false },
      scales: { x: { title: { display: true, text: labels.step } } },
    };
    charts.push(new Chart(document.getElementById("loss-chart"), {
      type: "line",
      data: {
        labels: steps,
        datasets: [
          line(labels.loss + " (" + labels.reference + ")", series.reference.loss, "#8a8f98", true),
          line(labels.loss + " (" + labels.student + ")", series.student.loss, "#d9480f", false),
        ],
      },
      options: options,
    }));
    var palette = ["#1971c2", "#2f9e44", "#ae3ec9", "#e67700"];
    var datasets = [];
    Object.keys(series.reference.params).forEach(function (name, index) {
      var first = function (values) { return values.map(function (v) { return v ? v[0] : null; }); };
      var color = palette[index % palette.length];
      datasets.push(line(name + " (" + labels.reference + ")", first(series.reference.params[name]), color, true));
      datasets.push(line(name + " (" + labels.student + ")", first(series.student.params[name] || []), color, false));
    });
    charts.push(new Chart(document.getElementById("param-chart"), {
      type: "line",
      data: { labels: steps, datasets: datasets },
      options: options,
    }));
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.body.addEventListener("htmx:afterSwap", draw);
})();
