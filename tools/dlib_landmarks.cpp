// dlib's own 68-point landmarks for fixture generation (tools/make_vision_fixtures.py runs it).
// Reads raw RGB frames and rectangles, runs dlib::shape_predictor exactly as a dlib user does
// (an RGB image, a dlib::rectangle), writes the landmark coordinates dlib returns.
//
//   g++ -O2 -std=c++17 tools/dlib_landmarks.cpp -o dlib_landmarks -ldlib -lopenblas   (Debian: libdlib-dev)
//   dlib_landmarks MODEL.dat FRAMES.rgb WIDTH HEIGHT < rects.txt > landmarks.txt
//
// rects.txt: one line per query, "frame left top right bottom"; output: one line per query,
// 136 integers x0 y0 x1 y1 … (dlib rounds each point to the nearest pixel).
#include <dlib/image_processing.h>
#include <dlib/serialize.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: dlib_landmarks MODEL.dat FRAMES.rgb WIDTH HEIGHT < rects\n";
        return 2;
    }
    dlib::shape_predictor predictor;
    dlib::deserialize(argv[1]) >> predictor;
    const long width = std::atol(argv[3]), height = std::atol(argv[4]);
    std::ifstream frames(argv[2], std::ios::binary);
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(frames)), std::istreambuf_iterator<char>());
    const size_t frameBytes = size_t(width) * height * 3;

    long frame, left, top, right, bottom;
    while (std::cin >> frame >> left >> top >> right >> bottom) {
        if ((frame + 1) * frameBytes > bytes.size()) {
            std::cerr << "frame " << frame << " is past the end of " << argv[2] << "\n";
            return 1;
        }
        dlib::array2d<dlib::rgb_pixel> image(height, width);
        const unsigned char* p = bytes.data() + frame * frameBytes;
        for (long y = 0; y < height; ++y)
            for (long x = 0; x < width; ++x, p += 3) image[y][x] = dlib::rgb_pixel(p[0], p[1], p[2]);
        const dlib::full_object_detection shape = predictor(image, dlib::rectangle(left, top, right, bottom));
        for (unsigned long i = 0; i < shape.num_parts(); ++i)
            std::printf(i ? " %ld %ld" : "%ld %ld", shape.part(i).x(), shape.part(i).y());
        std::printf("\n");
    }
    return 0;
}
