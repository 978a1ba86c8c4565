/*
 * A motor sketch that says hello first, then prints labelled values for the
 * Arduino serial plotter, labels with spaces, and a debug print now and
 * then. Line n, from 0, every 10 ms:
 *   Motor speed:S,Motor current:C   S = (n % 40) * 0.5, C = (n % 13) * 0.25
 * and after every 100th data line, "debug: 100 lines".
 */
static unsigned long next_line;
static unsigned long n;

void setup()
{
    Serial.begin(115200);
    Serial.println("Booting...");
    delay(50);
    Serial.println("IMU found, starting");
    next_line = micros();
}

void loop()
{
    if ((long)(micros() - next_line) < 0)
        return;
    next_line += 10000;
    Serial.print("Motor speed:");
    Serial.print((float)(n % 40) * 0.5f);
    Serial.print(",Motor current:");
    Serial.println((float)(n % 13) * 0.25f);
    n++;
    if (n % 100 == 0)
        Serial.println("debug: 100 lines");
}
