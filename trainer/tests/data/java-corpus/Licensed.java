/*
 * Copyright (c) 2024 Example Authors. All rights reserved.
 * Licensed under the Example License, version 1.
 */
package corpus;

/** A class whose file starts with a licence header. */
public class Licensed {
    public int answer() {
        return 42;
    }
}
