package corpus.geometry;

/** Anything with an area and a perimeter. */
public interface Shape {
    double area();

    double perimeter();

    default String describe() {
        return getClass().getSimpleName() + " with area " + area();
    }
}
