// The exercise analytics page: the histogram of students by best score.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.getElementById("histogram-data");
    if (!holder || !window.Chart) return;
    var data = JSON.parse(holder.textContent);
    new Chart(document.getElementById("histogram-chart"), {
      type: "bar",
      data: { labels: data.labels, datasets: [{ label: data.title, data: data.counts, backgroundColor: "#1971c2" }] },
      options: { animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  });
})();
