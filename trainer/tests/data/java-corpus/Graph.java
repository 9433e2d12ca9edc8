package corpus.graphs;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/** An undirected graph with adjacency lists and breadth-first search. */
public class Graph {
    private final List<List<Integer>> adjacent = new ArrayList<>();

    public Graph(int vertices) {
        for (int i = 0; i < vertices; i++) {
            adjacent.add(new ArrayList<>());
        }
    }

    public void addEdge(int a, int b) {
        adjacent.get(a).add(b);
        adjacent.get(b).add(a);
    }

    public int[] distancesFrom(int source) {
        int[] distance = new int[adjacent.size()];
        java.util.Arrays.fill(distance, -1);
        Deque<Integer> queue = new ArrayDeque<>();
        distance[source] = 0;
        queue.add(source);
        while (!queue.isEmpty()) {
            int vertex = queue.poll();
            for (int next : adjacent.get(vertex)) {
                if (distance[next] == -1) {
                    distance[next] = distance[vertex] + 1;
                    queue.add(next);
                }
            }
        }
        return distance;
    }
}
