import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;

public class Dijkstra {

    /** An edge to a vertex with a non-negative weight. */
    record Edge(int to, int weight) {}

    /** Shortest distances from source; unreachable vertices get Integer.MAX_VALUE. */
    public static int[] shortestPaths(List<List<Edge>> graph, int source) {
