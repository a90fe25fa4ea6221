#!/usr/bin/env python3
"""Reference images for render's enhancement test, made with Pillow's own ImageEnhance.

Run from this directory with Debian's Pillow (apt-get install python3-pil):
/usr/bin/python3 gen.py   # writes input.png and one PNG per case in cases.txt
"""
import random
import PIL
from PIL import Image, ImageEnhance

random.seed(7)
W, H = 23, 17
im = Image.new("RGBA", (W, H))
for y in range(H):
    for x in range(W):
        if random.random() < 0.5:
            c = tuple(random.randrange(256) for _ in range(3))
        else:  # smooth areas too, where rounding matters most
            c = (x * 11 % 256, y * 15 % 256, (x * y) % 256)
        a = random.choice([0, 255, 255, 255, random.randrange(256)])
        im.putpixel((x, y), c + (a,))
im.save("input.png")

CASES = [
    ("color", 0.0), ("color", 0.5), ("color", 1.7),
    ("contrast", 0.0), ("contrast", 0.3), ("contrast", 2.5),
    ("brightness", 0.0), ("brightness", 0.6), ("brightness", 1.9),
    ("sharpness", 0.0), ("sharpness", 0.5), ("sharpness", 2.0), ("sharpness", 3.7),
]
CLS = {"color": ImageEnhance.Color, "contrast": ImageEnhance.Contrast,
       "brightness": ImageEnhance.Brightness, "sharpness": ImageEnhance.Sharpness}
with open("cases.txt", "w") as f:
    f.write("# Pillow %s: name color contrast brightness sharpness (- = not applied)\n" % PIL.__version__)
    for op, fac in CASES:
        name = "%s_%s.png" % (op, fac)
        CLS[op](im).enhance(fac).save(name)
        facs = ["-"] * 4
        facs[list(CLS).index(op)] = repr(fac)
        f.write("%s %s\n" % (name, " ".join(facs)))
    # All four, in django-raster's order.
    out = im
    for op, fac in [("color", 1.3), ("contrast", 0.8), ("brightness", 1.2), ("sharpness", 2.0)]:
        out = CLS[op](out).enhance(fac)
    out.save("all.png")
    f.write("all.png 1.3 0.8 1.2 2.0\n")
