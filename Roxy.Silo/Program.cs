Console.WriteLine("roxy");
