/*
 * A sensor sketch as people write them for the Arduino serial plotter:
 * plain comma-separated columns printed with Serial.print, which prints a
 * float with two decimals, and "nan", "inf" or "ovf" for a value that is
 * not a number, infinite or beyond +-4294967040 (the core's Print.cpp,
 * printFloat). Line n, from 0, every 5 ms:
 *   wave  = (n % 200) * 0.25 - 25         exact in two decimals
 *   ratio = 0/0 (nan) when n % 50 == 10, 1/0 (inf) when n % 50 == 20,
 *           5e9 (ovf) when n % 50 == 30, else (n % 7) * 0.5
 *   n itself, an integer column
 */
static unsigned long next_line;
static unsigned long n;

void setup()
{
    Serial.begin(115200);
    next_line = micros();
}

void loop()
{
    if ((long)(micros() - next_line) < 0)
        return;
    next_line += 5000;
    volatile float zero = 0.0f; /* volatile: computed at run time, as a sensor's would be */
    float ratio = (float)(n % 7) * 0.5f;
    if (n % 50 == 10)
        ratio = zero / zero;
    else if (n % 50 == 20)
        ratio = 1.0f / zero;
    else if (n % 50 == 30)
        ratio = 5e9f;
    Serial.print((float)(n % 200) * 0.25f - 25.0f);
    Serial.print(',');
    Serial.print(ratio);
    Serial.print(',');
    Serial.println(n);
    n++;
}
