using System.Globalization;
using System.Numerics;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Roxy.Api.Caching;
using Roxy.Api.Protocols;

namespace Roxy.Tests.Unit.Caching;

/// <summary>
/// Random JSON values, spelled many ways and mutated once, against an independent reference canonicalization: two
/// bodies get the same key exactly when the reference says they mean the same.
/// </summary>
public class CanonicalRequestPropertyTests
{
    [Fact]
    public void Any_spelling_of_the_same_value_gives_the_same_key()
    {
        var property = Prop.ForAll(Json.Body.ToArbitrary(), ArbMap.Default.ArbFor<int>(), ArbMap.Default.ArbFor<int>(), (body, first, second) =>
        {
            var a = Json.Spell(body, new Random(first));
            var b = Json.Spell(body, new Random(second));
            return (Key(a) == Key(b)).Label($"{a}\n{b}");
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1500), property);
    }

    [Fact]
    public void A_single_change_changes_the_key_exactly_when_the_meaning_changes()
    {
        var changed = 0;
        var property = Prop.ForAll(Json.Body.ToArbitrary(), ArbMap.Default.ArbFor<int>(), (body, seed) =>
        {
            var random = new Random(seed);
            var mutant = Json.Mutate(body, random);
            var sameMeaning = Json.Reference(body) == Json.Reference(mutant);
            changed += sameMeaning ? 0 : 1;
            var a = Json.Spell(body, random);
            var b = Json.Spell(mutant, random);
            return (sameMeaning == (Key(a) == Key(b))).Label($"same meaning: {sameMeaning}\n{a}\n{b}");
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000), property);
        Assert.True(changed > 1000, $"only {changed} of 2000 mutations changed the meaning");
    }

    [Fact]
    public void Names_sort_by_utf16_code_units_as_rfc_8785_asks()
    {
        var text = Gen.Elements("a", "b", "é", "\uE000", "\uFFFD", "😀", "𝄞", "ö", "", "\u007F", "\u0080").ArrayOf()
            .Select(parts => string.Concat(parts));
        var property = Prop.ForAll(text.ToArbitrary(), text.ToArbitrary(), (x, y) =>
            Math.Sign(CanonicalRequest.CompareUtf16Order(Encoding.UTF8.GetBytes(x), Encoding.UTF8.GetBytes(y)))
            == Math.Sign(string.CompareOrdinal(x, y)));
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(3000), property);
    }

    private static string Key(string body) =>
        CacheKeys.Compute(Encoding.UTF8.GetBytes(body), WireProtocol.OpenAiChat, "acme", 3, "smart", "fp").Hash;

    /// <summary>A JSON value model, a random writer for it and a reference canonical string.</summary>
    private abstract record Json
    {
        private static readonly string[] Keys = ["a", "b", "B", "aa", "", "é", "\uE000", "😀", "ключ", "x\"y", "tab\t", "/", "model", "messages"];
        private static readonly string[] Pieces = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u0001", "é", "\u2028", "\uE000", "\uFFFF", "😀", "文"];
        private static readonly string[] Whitespace = ["", "", "", " ", "\n", "\t", "\r\n  "];

        public static Gen<Json> Body { get; } = Object(3);

        private static Gen<Json> Leaf { get; } = Gen.Frequency(
            (3, Gen.Choose(0, 6).SelectMany(n => Gen.ArrayOf(Gen.Elements(Pieces), n)).Select(parts => (Json)new Str(string.Concat(parts)))),
            (3, Gen.Frequency(
                    (6, Gen.Choose(-1000, 1000).Select(m => (BigInteger)m)),
                    (1, Gen.Choose(-3, 3).Select(d => BigInteger.Pow(2, 53) + d)),
                    (1, Gen.Choose(0, 9).Select(d => BigInteger.Parse("123456789012345678901234567890", CultureInfo.InvariantCulture) + d)))
                .SelectMany(m => Gen.Choose(-6, 6).Select(e => (Json)new Num(m, e)))),
            (1, Gen.Elements<Json>(new Bool(true), new Bool(false), new Null())));

        private static Gen<Json> Value(int depth) => depth == 0
            ? Leaf
            : Gen.Frequency((4, Leaf), (1, Object(depth - 1)), (1, Array(depth - 1)));

        private static Gen<Json> Array(int depth) =>
            Gen.Choose(0, 4).SelectMany(n => Gen.ListOf(Value(depth), n)).Select(items => (Json)new Arr([.. items]));

        private static Gen<Json> Object(int depth) =>
            Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(Gen.Elements(Keys), n)).SelectMany(keys =>
            {
                var distinct = keys.Distinct().ToArray();
                return Gen.ListOf(Value(depth), distinct.Length)
                    .Select(values => (Json)new Obj([.. distinct.Zip(values, (k, v) => new Member(k, v))]));
            });

        /// <summary>Sorted names (ordinal UTF-16), numbers as normalized mantissa and exponent.</summary>
        public static string Reference(Json value) => value switch
        {
            Obj o => "{" + o.Members.Count + string.Concat(o.Members.OrderBy(m => m.Key, StringComparer.Ordinal)
                .Select(m => Reference(new Str(m.Key)) + Reference(m.Value))) + "}",
            Arr a => "[" + a.Items.Count + string.Concat(a.Items.Select(Reference)) + "]",
            Str s => "s" + s.Value.Length + ":" + s.Value,
            Num n => "n" + Normalize(n) + ";",
            Bool b => b.Value ? "t" : "f",
            _ => "z",
        };

        private static string Normalize(Num n)
        {
            if (n.Mantissa.IsZero)
            {
                return "0";
            }

            var (m, e) = (n.Mantissa, n.Exponent);
            while (m % 10 == 0)
            {
                m /= 10;
                e++;
            }

            return m + "e" + e;
        }

        /// <summary>One change somewhere: a value replaced, an item or member added or removed, two items swapped, members reordered.</summary>
        public static Json Mutate(Json root, Random random)
        {
            var nodes = new List<Json>();
            Collect(root, nodes);
            var target = nodes[random.Next(nodes.Count)];
            return Replace(root, target, random);
        }

        private static void Collect(Json value, List<Json> nodes)
        {
            nodes.Add(value);
            foreach (var child in value switch { Obj o => o.Members.Select(m => m.Value), Arr a => a.Items, _ => [] })
            {
                Collect(child, nodes);
            }
        }

        private static Json Replace(Json value, Json target, Random random)
        {
            if (ReferenceEquals(value, target))
            {
                return Change(value, random);
            }

            return value switch
            {
                Obj o => new Obj([.. o.Members.Select(m => m with { Value = Replace(m.Value, target, random) })]),
                Arr a => new Arr([.. a.Items.Select(i => Replace(i, target, random))]),
                _ => value,
            };
        }

        private static Json Change(Json value, Random random)
        {
            switch (value, random.Next(4))
            {
                case (Obj o, 0):
                    var unused = Keys.Where(k => o.Members.All(m => m.Key != k)).ToArray();
                    return unused.Length == 0 ? o : new Obj([.. o.Members, new Member(unused[random.Next(unused.Length)], new Null())]);
                case (Obj o, 1) when o.Members.Count > 0:
                    var removed = random.Next(o.Members.Count);
                    return new Obj([.. o.Members.Where((_, i) => i != removed)]);
                case (Obj o, _):
                    return new Obj([.. o.Members.OrderBy(_ => random.Next())]); // same meaning
                case (Arr a, 0):
                    var at = random.Next(a.Items.Count + 1);
                    return new Arr([.. a.Items.Take(at), new Num(7, 0), .. a.Items.Skip(at)]);
                case (Arr a, 1) when a.Items.Count > 0:
                    var drop = random.Next(a.Items.Count);
                    return new Arr([.. a.Items.Where((_, i) => i != drop)]);
                case (Arr a, _) when a.Items.Count > 1:
                    var items = a.Items.ToList();
                    var (x, y) = (random.Next(items.Count), random.Next(items.Count));
                    (items[x], items[y]) = (items[y], items[x]);
                    return new Arr(items);
                case (Num n, 0):
                    return new Num(n.Mantissa * 10, n.Exponent - 1); // same meaning
                case (Num n, 1):
                    return n with { Exponent = n.Exponent + 1 };
                case (Num n, _):
                    return n with { Mantissa = n.Mantissa + 1 };
                case (Str s, _):
                    return new Str(s.Value + Pieces[random.Next(Pieces.Length)]);
                case (Bool b, _):
                    return new Bool(!b.Value);
                case (Null, _):
                    return new Bool(false);
                default:
                    return new Str("replaced");
            }
        }

        /// <summary>JSON text with shuffled members, random whitespace, escapes and number spellings.</summary>
        public static string Spell(Json value, Random random)
        {
            var text = new StringBuilder();
            Write(value, random, text);
            return text.ToString();
        }

        private static void Write(Json value, Random random, StringBuilder text)
        {
            text.Append(Whitespace[random.Next(Whitespace.Length)]);
            switch (value)
            {
                case Obj o:
                    text.Append('{');
                    var first = true;
                    foreach (var member in o.Members.OrderBy(_ => random.Next()))
                    {
                        text.Append(first ? "" : ",");
                        first = false;
                        WriteString(member.Key, random, text);
                        text.Append(Whitespace[random.Next(Whitespace.Length)]).Append(':');
                        Write(member.Value, random, text);
                    }

                    text.Append(Whitespace[random.Next(Whitespace.Length)]).Append('}');
                    break;
                case Arr a:
                    text.Append('[');
                    for (var i = 0; i < a.Items.Count; i++)
                    {
                        text.Append(i == 0 ? "" : ",");
                        Write(a.Items[i], random, text);
                    }

                    text.Append(Whitespace[random.Next(Whitespace.Length)]).Append(']');
                    break;
                case Str s:
                    WriteString(s.Value, random, text);
                    break;
                case Num n:
                    WriteNumber(n, random, text);
                    break;
                case Bool b:
                    text.Append(b.Value ? "true" : "false");
                    break;
                default:
                    text.Append("null");
                    break;
            }

            text.Append(Whitespace[random.Next(Whitespace.Length)]);
        }

        private static void WriteString(string value, Random random, StringBuilder text)
        {
            text.Append('"');
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                var pair = char.IsHighSurrogate(c);
                var mustEscape = c is '"' or '\\' or < (char)0x20;
                if (!mustEscape && random.Next(3) > 0)
                {
                    text.Append(c);
                    if (pair)
                    {
                        text.Append(value[++i]);
                    }

                    continue;
                }

                var shortForm = c switch { '"' => "\\\"", '\\' => "\\\\", '/' => "\\/", '\n' => "\\n", '\t' => "\\t", _ => null };
                if (shortForm is not null && random.Next(2) == 0)
                {
                    text.Append(shortForm);
                    continue;
                }

                var format = random.Next(2) == 0 ? "x4" : "X4";
                text.Append("\\u").Append(((int)c).ToString(format, CultureInfo.InvariantCulture));
                if (pair)
                {
                    text.Append("\\u").Append(((int)value[++i]).ToString(format, CultureInfo.InvariantCulture));
                }
            }

            text.Append('"');
        }

        // mantissa × 10^exponent, as digits (maybe with extra zeros), a point anywhere, and an exponent (maybe none).
        private static void WriteNumber(Num n, Random random, StringBuilder text)
        {
            if (n.Mantissa.IsZero)
            {
                text.Append(new[] { "0", "-0", "0.0", "0e7", "0.000E-3", "-0.0e+2" }[random.Next(6)]);
                return;
            }

            var padding = random.Next(3);
            var digits = BigInteger.Abs(n.Mantissa).ToString(CultureInfo.InvariantCulture) + new string('0', padding);
            var exponent = n.Exponent - padding;
            var point = random.Next(digits.Length + 1);
            text.Append(n.Mantissa.Sign < 0 ? "-" : "");
            if (point == digits.Length)
            {
                text.Append(digits);
            }
            else
            {
                // int.frac is digits / 10^(fraction length): the exponent makes up for it.
                var leadingZeros = point == 0 ? random.Next(3) : 0;
                text.Append(point == 0 ? "0" : digits[..point]).Append('.').Append('0', leadingZeros)
                    .Append(digits[point..]).Append('0', random.Next(3));
                exponent += digits.Length - point + leadingZeros;
            }

            if (exponent != 0 || random.Next(3) == 0)
            {
                var sign = exponent < 0 ? "-" : random.Next(2) == 0 ? "+" : "";
                text.Append(random.Next(2) == 0 ? 'e' : 'E').Append(sign).Append(new string('0', random.Next(2)))
                    .Append(Math.Abs(exponent).ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    private sealed record Member(string Key, Json Value);

    private sealed record Obj(List<Member> Members) : Json;

    private sealed record Arr(List<Json> Items) : Json;

    private sealed record Str(string Value) : Json;

    private sealed record Num(BigInteger Mantissa, int Exponent) : Json;

    private sealed record Bool(bool Value) : Json;

    private sealed record Null : Json;
}
