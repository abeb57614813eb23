package dev.sqlservice.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * A horizontal bar chart of every ratio to a baseline (log scale, 1 = the baseline), one block per scenario,
 * sqlservice's variants in blue, the baselines in grey, the others in orange; whiskers span the per-round ratios.
 * Drawn with java.awt in headless mode.
 */
final class Chart {

    private static final int WIDTH = 1100;
    private static final int LABEL = 330;
    private static final int RIGHT = 90;
    private static final int BAR = 18;
    private static final int GAP = 6;
    private static final double LOG_MIN = Math.log(1.0 / 8);
    private static final double LOG_MAX = Math.log(32);

    static void write(Report report, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<Report.Row> rows = report.rows.stream().filter(r -> r.ratio() != null).toList();
        long groups = rows.stream().map(Report.Row::group).distinct().count();
        int height = 80 + rows.size() * (BAR + GAP) + (int) groups * 28 + 40;
        BufferedImage image = new BufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, height);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            g.drawString("sqlservice: ratio to each scenario's baseline (log scale; time ratios: < 1 is faster; "
                    + "throughput: > 1 is faster)", 12, 24);
            int plotLeft = LABEL;
            int plotRight = WIDTH - RIGHT;
            int top = 50;
            // grid
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            for (double tick : new double[] {0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32}) {
                int x = x(tick, plotLeft, plotRight);
                g.setColor(tick == 1 ? Color.DARK_GRAY : new Color(225, 225, 225));
                g.setStroke(new BasicStroke(tick == 1 ? 2f : 1f));
                g.drawLine(x, top, x, height - 30);
                g.setColor(Color.DARK_GRAY);
                String label = tick < 1 ? "1/" + (int) Math.round(1 / tick) : String.valueOf((int) tick);
                g.drawString(label + "×", x - 10, height - 12);
            }
            int y = top;
            String group = null;
            for (Report.Row r : rows) {
                if (!r.group().equals(group)) {
                    group = r.group();
                    y += 8;
                    g.setColor(Color.BLACK);
                    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 12));
                    g.drawString(group, 12, y + 12);
                    y += 20;
                }
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
                g.setColor(Color.BLACK);
                g.drawString(r.variant() + (r.baseline() ? " (baseline)" : ""), 24, y + BAR - 4);
                int x1 = x(1, plotLeft, plotRight);
                int x2 = x(r.ratio(), plotLeft, plotRight);
                g.setColor(r.baseline() ? new Color(150, 150, 150) : r.library() ? new Color(45, 110, 200)
                        : new Color(235, 140, 40));
                g.fillRect(Math.min(x1, x2), y, Math.max(2, Math.abs(x2 - x1)), BAR);
                g.setColor(Color.BLACK);
                g.setStroke(new BasicStroke(1f));
                int w1 = x(r.ratioMin(), plotLeft, plotRight);
                int w2 = x(r.ratioMax(), plotLeft, plotRight);
                g.drawLine(w1, y + BAR / 2, w2, y + BAR / 2);
                g.drawLine(w1, y + 4, w1, y + BAR - 4);
                g.drawLine(w2, y + 4, w2, y + BAR - 4);
                g.drawString(String.format(Locale.ROOT, "×%s", Report.fmt(r.ratio())), Math.max(x2, w2) + 6, y + BAR - 4);
                y += BAR + GAP;
            }
        } finally {
            g.dispose();
        }
        ImageIO.write(image, "png", file.toFile());
    }

    private static int x(double ratio, int left, int right) {
        double v = Math.max(LOG_MIN, Math.min(LOG_MAX, Math.log(ratio)));
        return left + (int) Math.round((v - LOG_MIN) / (LOG_MAX - LOG_MIN) * (right - left));
    }

    private Chart() {}
}
