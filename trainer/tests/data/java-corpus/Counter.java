package corpus.text;

import java.util.HashMap;
import java.util.Map;

/** Counts how often each word occurs in a text. */
public class Counter {
    private final Map<String, Integer> counts = new HashMap<>();

    public void addText(String text) {
        for (String word : text.toLowerCase().split("\\W+")) {
            if (!word.isEmpty()) {
                counts.merge(word, 1, Integer::sum);
            }
        }
    }

    public int count(String word) {
        return counts.getOrDefault(word.toLowerCase(), 0);
    }

    public String mostFrequent() {
        String best = null;
        int bestCount = 0;
        for (Map.Entry<String, Integer> entry : counts.entrySet()) {
            if (entry.getValue() > bestCount) {
                best = entry.getKey();
                bestCount = entry.getValue();
            }
        }
        return best;
    }
}
