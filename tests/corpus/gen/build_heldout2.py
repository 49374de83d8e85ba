#!/usr/bin/env python3
"""Writes redaction-heldout2.jsonl. Identifiers come from make_ids.py with a fixed seed
(different from dev2's)."""
import random
from make_ids import *
from _lib import *

rng = random.Random(7793104455)
C = Corpus("ho2")
def P(lang, text, expect, keep=()): C.add(lang, "positive", text, expect, keep)
def N(lang, text, keep=()): C.add(lang, "negative", text, (), keep)
def E(lang, text, expect, keep=()): C.add(lang, "evasion", text, expect, keep)

def pick(gen, n):
    return [gen() for _ in range(n)]
I = lambda cc: rand_iban(rng, cc)
at = pick(lambda: group4(I("AT")), 3); ch = pick(lambda: group4(I("CH")), 3)
de = pick(lambda: group4(I("DE")), 6); be = group4(I("BE")); es = group4(I("ES")); pl = group4(I("PL"))
lu = group4(I("LU")); it = group4(I("IT")); dk = group4(I("DK"))
gb = pick(lambda: group4(I("GB")), 5); ie = group4(I("IE"))
visa = pick(lambda: make_card(rng, "visa"), 8); mc = pick(lambda: make_card(rng, "mc"), 8)
amex = pick(lambda: make_card(rng, "amex"), 4)
st = pick(lambda: make_steuer(rng), 12); rvn = pick(lambda: make_rv(rng), 10)
ida = pick(lambda: make_doc(rng, "id"), 12); pas = pick(lambda: make_doc(rng, "pass"), 8)
ssn = pick(lambda: make_ssn(rng), 10); itin = pick(lambda: make_itin(rng), 5); nino = pick(lambda: make_nino(rng), 10)
bad_ib = pick(lambda: group4(bad_iban(rng, rng.choice(["DE", "AT", "CH"]))), 3)
bad_gb = pick(lambda: group4(bad_iban(rng, "GB")), 2)
bad_c = pick(lambda: bad_card(rng, rng.choice(["visa", "mc"])), 6)
bad_s = pick(lambda: bad_steuer(rng), 4)
bad_d = pick(lambda: bad_doc(rng, rng.choice(["id", "pass"])), 3)
def with_zeros(cc, n=3):
    while True:
        x = group4(I(cc))
        if x[4:].count("0") >= n:
            return x
ibo_de, ibo_gb = with_zeros("DE"), with_zeros("GB", 2)

# ================================================================ DE positive
P("de", "Ans Christkind von Frieda (9): Ich wünsch mir ein Handy. Und dass die Schuppenflechte an meinen Ellbogen weggeht.",
  [("health", "Schuppenflechte an meinen Ellbogen")], ["ein Handy"])
P("de", "Sehr geehrte Damen und Herren, wegen meiner Endometriose bin ich regelmäßig krankgeschrieben und konnte das Paket nicht rechtzeitig abholen. Bitte verlängern Sie die Frist.",
  [("health", "Endometriose"), ("health", "regelmäßig krankgeschrieben")], ["Frist"])
P("de", "[Agentin] Kd. erwähnt Hashimoto, nimmt L-Thyroxin 75 µg, fragt nach jodfreiem Salz im Geschenkkorb.",
  [("health", "Hashimoto"), ("health", "L-Thyroxin 75 µg")], ["jodfreiem Salz"])
P("de", "Opa Ewald hatte im Sommer einen Schlaganfall, linke Seite gelähmt. Er wünscht sich trotzdem ein Modellschiff, das er mit einer Hand bauen kann.",
  [("health", "einen Schlaganfall, linke Seite gelähmt")], ["Modellschiff"])
P("de", "Der Kunde hat Gicht und kann keine festen Schuhe tragen – Hausschuhe Gr. 45 extra weit.",
  [("health", "Gicht")], ["Hausschuhe Gr. 45"])
P("de", "Lieferung bitte nicht vor 11, ich hab Schlafapnoe und schlaf mit CPAP-Maske, hör die Klingel nicht.",
  [("health", "Schlafapnoe und schlaf mit CPAP-Maske")], ["nicht vor 11"])
P("de", "Meine Frau hat Lupus (SLE) und verträgt keine Sonne, deshalb bitte den UV-Schirm.",
  [("health", "Lupus (SLE)")], ["UV-Schirm"])
P("de", "Gesprächsnotiz Vertrieb: Interessent Fr. Wolff, Z.n. Hüft-TEP rechts 09/2026, möchte Sitzerhöhung fürs Auto.",
  [("health", "Z.n. Hüft-TEP rechts 09/2026")], ["Sitzerhöhung fürs Auto"])
P("de", "unser sohn hat tourette und schreit manchmal beim telefonieren, bitte nicht auflegen!!",
  [("health", "tourette")], ["nicht auflegen"])
P("de", "Mei Bua hod Legasthenie, drum bittschön a Hörbuch statt a Buach.",
  [("health", "Legasthenie")], ["Hörbuch"])
P("de", "Ich war 3 Monate in der Psychiatrie wegen PTBS nach dem Unfall, deshalb ist die Rechnung liegen geblieben.",
  [("health", "3 Monate in der Psychiatrie wegen PTBS")], ["Rechnung liegen geblieben"])
P("de", "Kundin nimmt Methotrexat 15 mg wöchentlich gegen Psoriasis-Arthritis, will eine Greifzange.",
  [("health", "Methotrexat 15 mg wöchentlich"), ("health", "Psoriasis-Arthritis")], ["Greifzange"])
P("de", "Grüessech, mini Mueter hät Grüene Star (Glaukom) und brucht e Lupe mit Liecht.",
  [("health", "Grüene Star (Glaukom)")], ["Lupe mit Liecht"])
P("de", "Bitte Bestellung an meine Tochter, ich bin seit der Chemo wegen Leukämie (AML) zu schwach für die Haustür.",
  [("health", "Chemo wegen Leukämie (AML)")], ["Haustür"])
P("de", "Herr Baumeister ist inkontinent, bitte die Pants in Größe L diskret liefern.",
  [("health", "inkontinent")], ["Größe L"])
P("de", "Wunschzettel Enkel Jannik, 14: Gaming-Maus. Er hat Magersucht, war bis Oktober stationär, bitte keine Süßigkeiten in den Karton.",
  [("health", "Magersucht, war bis Oktober stationär")], ["Gaming-Maus"])
P("de", "Notiz: Kd. spielsüchtig laut Ehefrau, Sperre für Gutscheinkarten gewünscht.",
  [("health", "spielsüchtig")], ["Gutscheinkarten"])
P("de", "Mein Mann hat Prostatakrebs im Stadium T2, PSA zuletzt 12,4. Er hätte gern ein Fernglas zum Vögelbeobachten.",
  [("health", "Prostatakrebs im Stadium T2, PSA zuletzt 12,4")], ["Fernglas"])
P("de", "Hepatitis C ausgeheilt, aber ich bin noch schnell erschöpft – bitte Ware nur bis zur Wohnungstür.",
  [("health", "Hepatitis C ausgeheilt")], ["bis zur Wohnungstür"])
P("de", "Die Kleine ist in der 12. SSW... also meine Schwiegertochter, nicht das Kind 😄 Babyschale bitte zurücklegen.",
  [("health", "in der 12. SSW")], ["Babyschale"])
P("de", "Nach der Gürtelrose im Gesicht sieht Papa auf dem rechten Auge schlecht, bitte große Tasten am Telefon.",
  [("health", "Gürtelrose im Gesicht"), ("health", "sieht Papa auf dem rechten Auge schlecht")], ["große Tasten"])
P("de", "Sie bekommt seit Mai Ozempic 1 mg, hat 15 kg abgenommen und braucht neue Jeans in 38.",
  [("health", "Ozempic 1 mg")], ["neue Jeans in 38"])
P("de", "Zustand nach Herz-OP (Bypass 3-fach), Belastung max. 5 kg – Lieferant bitte reintragen.",
  [("health", "Zustand nach Herz-OP (Bypass 3-fach)")], ["reintragen"])
P("de", "Ich hab Fibromyalgie und hab heute einen schlechten Tag, können wir das Gespräch verschieben?",
  [("health", "Fibromyalgie")], ["Gespräch verschieben"])
P("de", "Bitte das Geschenk für Lukas ohne Glitzer, er hat eine Zwangsstörung und rastet sonst aus.",
  [("health", "Zwangsstörung")], ["ohne Glitzer"])
P("de", "Der Nachbar (Hörgeräte beidseits, trotzdem schwerhörig) nimmt Pakete an, einfach lang klingeln.",
  [("health", "Hörgeräte beidseits, trotzdem schwerhörig")], ["lang klingeln"])
# religion
P("de", "Unser Sohn hat nächstes Jahr Erstkommunion, wir suchen eine Kommunionkerze mit Fisch.",
  [("religion", "Erstkommunion"), ("religion", "Kommunionkerze mit Fisch")], [])
P("de", "Wir sind griechisch-orthodox, Weihnachten feiern wir am 7. Jänner, bitte erst dann zustellen.",
  [("religion", "griechisch-orthodox")], ["7. Jänner"])
P("de", "Kd. ist Sikh, trägt Turban, fragt ob der Motorradhelm in XXL passt.",
  [("religion", "Sikh, trägt Turban")], ["Motorradhelm in XXL"])
P("de", "Wir essen nur koscher, also bitte den Präsentkorb ohne Salami.",
  [("religion", "Wir essen nur koscher")], ["ohne Salami"])
P("de", "Meine Oma ist Buddhistin und meditiert jeden Morgen, sie wünscht sich ein Meditationskissen.",
  [("religion", "Buddhistin"), ("religion", "meditiert jeden Morgen")], [])
P("de", "Zum Diwali-Fest der Familie Raman bitte Lichterketten liefern, wir machen Puja am Abend.",
  [("religion", "wir machen Puja am Abend")], ["Lichterketten"])
P("de", "Kunde ist Alevit und geht freitags ins Cem-Haus, Termin lieber donnerstags.",
  [("religion", "Alevit"), ("religion", "geht freitags ins Cem-Haus")], ["donnerstags"])
P("de", "Meine Tochter ist aus der Kirche ausgetreten und jetzt Atheistin – bitte kein Kreuz auf die Karte!",
  [("religion", "aus der Kirche ausgetreten und jetzt Atheistin")], ["auf die Karte"])
P("de", "Religionszugehörigkeit: freikirchlich (Pfingstgemeinde)", [("religion", "freikirchlich (Pfingstgemeinde)")], [])
P("de", "Bitte für Schwiegervater einen Gebetsteppich mit Kompass, er betet fünfmal am Tag.",
  [("religion", "Gebetsteppich mit Kompass"), ("religion", "betet fünfmal am Tag")], [])
P("de", "Für die Konfirmation meines Patenkindes eine Bibel mit Namensgravur.",
  [("religion", "Konfirmation meines Patenkindes"), ("religion", "Bibel mit Namensgravur")], [])
# ethnic
P("de", "Familie Nowak sind Sorben aus der Lausitz, Rechnung bitte zweisprachig.",
  [("ethnic_origin", "Sorben")], ["Lausitz", "zweisprachig"])
P("de", "Der Vermieter wollte uns nicht, weil wir Jenische sind – das hab ich auch Ihrer Hotline gesagt.",
  [("ethnic_origin", "Jenische")], ["Hotline"])
P("de", "Kundin ist Tamilin, spricht gut Englisch, Beratung bitte auf Englisch.",
  [("ethnic_origin", "Tamilin")], ["Beratung bitte auf Englisch"])
P("de", "Als Afrodeutscher werde ich im Geschäft ständig kontrolliert, Beschwerde an die Filialleitung.",
  [("ethnic_origin", "Afrodeutscher")], ["Filialleitung"])
P("de", "Oma ist Russlanddeutsche (Spätaussiedlerin), liest am liebsten kyrillisch.",
  [("ethnic_origin", "Russlanddeutsche (Spätaussiedlerin)")], ["kyrillisch"])
P("de", "Herkunft: uigurisch", [("ethnic_origin", "uigurisch")], [])
# political
P("de", "Mein Schwiegervater ist seit 30 Jahren CSU-Mitglied und will einen Maßkrug mit Gravur.",
  [("political_opinion", "CSU-Mitglied")], ["Maßkrug mit Gravur"])
P("de", "Anruferin erzählt, sie hat bei der Landtagswahl das BSW gewählt und bereut es.",
  [("political_opinion", "das BSW gewählt")], ["Landtagswahl"])
P("de", "Der Bürgermeisterkandidat der Freien Wähler bestellt privat ein Rennrad.",
  [("political_opinion", "Bürgermeisterkandidat der Freien Wähler")], ["Rennrad"])
P("de", "I bin bei da FPÖ Ortsgruppe, brauch a Beamer für die Versammlung.",
  [("political_opinion", "bei da FPÖ Ortsgruppe")], ["Beamer"])
P("de", "Vater wählt seit jeher SVP, Mutter die SP – Weihnachten wird laut.",
  [("political_opinion", "wählt seit jeher SVP"), ("political_opinion", "die SP")], ["Weihnachten wird laut"])
P("de", "Kunde erwähnt, er sei Mitglied bei Volt und wolle nur klimaneutral versandt bekommen.",
  [("political_opinion", "Mitglied bei Volt")], ["klimaneutral"])
P("de", "Die Tochter klebt sich mit der Letzten Generation auf die Straße, bitte Lieferung an die Eltern.",
  [("political_opinion", "klebt sich mit der Letzten Generation auf die Straße")], ["Lieferung an die Eltern"])
# union
P("de", "Mein Mann ist Betriebsrat für die IG BCE im Chemiepark und hat Schicht bis 22 Uhr.",
  [("trade_union", "Betriebsrat für die IG BCE")], ["Schicht bis 22 Uhr"])
P("de", "Die Ärztin ist im Marburger Bund organisiert und streikt Dienstag, Termin auf Mittwoch.",
  [("trade_union", "im Marburger Bund organisiert")], ["Termin auf Mittwoch"])
P("de", "I bin bei da vida und mia streiken, Zustellung bitte nach Weihnachten.",
  [("trade_union", "bei da vida")], ["nach Weihnachten"])
P("de", "Er ist Unia-Mitglied auf dem Bau, Lieferung an die Baustelle in Winterthur.",
  [("trade_union", "Unia-Mitglied")], ["Baustelle in Winterthur"])
P("de", "Gewerkschaft: DJV (Journalistenverband), Mitgliedsausweis liegt bei.",
  [("trade_union", "DJV (Journalistenverband)")], [])
P("de", "Sie sitzt für die GÖD im Personalausschuss und braucht Kaffee für 40 Leute.",
  [("trade_union", "für die GÖD")], ["Kaffee für 40 Leute"])
# sex life
P("de", "Wir leben polyamor zu dritt, bitte drei Namen auf die Weihnachtskarte.",
  [("sex_life", "polyamor zu dritt")], ["drei Namen"])
P("de", "Mein Bruder ist pansexuell und hat gerade Ärger mit den Eltern, Geschenk bitte an meine Adresse.",
  [("sex_life", "pansexuell")], ["an meine Adresse"])
P("de", "Kunde fragt nach diskretem Versand, er nutzt Grindr und will nicht, dass die Nachbarn was merken.",
  [("sex_life", "er nutzt Grindr")], ["diskretem Versand"])
P("de", "Sie führt mit ihrem Mann eine offene Ehe und der Freund soll auch ein Geschenk bekommen.",
  [("sex_life", "eine offene Ehe")], ["ein Geschenk"])
P("de", "Bestellung Fetisch-Zubehör (BDSM) für das Paar, neutraler Absender.",
  [("sex_life", "Fetisch-Zubehör (BDSM)")], ["neutraler Absender"])
P("de", "Herr K. hat Erektionsstörungen und fragt ob das Präparat per Post kommt.",
  [("health", "Erektionsstörungen")], ["per Post"])
# genetic
P("de", "Humangenetischer Befund: HFE-Mutation C282Y homozygot (Hämochromatose), bitte an die Hausärztin.",
  [("genetic", "HFE-Mutation C282Y homozygot (Hämochromatose)")], ["Hausärztin"])
P("de", "Mein Sohn ist HLA-B27-positiv, steht im Befund vom Rheumatologen.",
  [("genetic", "HLA-B27-positiv")], ["Rheumatologen"])
P("de", "Bei uns beiden wurde eine Anlage für Thalassämie gefunden, daher die Beratung.",
  [("genetic", "eine Anlage für Thalassämie")], ["die Beratung"])
P("de", "Laut Genomsequenzierung hat mein Neffe das Fragile-X-Syndrom.",
  [("genetic", "Genomsequenzierung hat mein Neffe das Fragile-X-Syndrom")], [])
P("de", "Ancestry-DNA sagt: 12 % aschkenasisch-jüdische Abstammung und ein Halbbruder in Ohio!",
  [("genetic", "Ancestry-DNA sagt: 12 % aschkenasisch-jüdische Abstammung und ein Halbbruder in Ohio")], [])
P("de", "MTHFR-Genvariante heterozygot – deshalb nimmt sie Folsäure, schreibt die Kundin.",
  [("genetic", "MTHFR-Genvariante heterozygot")], ["Folsäure"])
# biometric
P("de", "Ich widerspreche der Speicherung meiner Handgeometrie am Drehkreuz im Fitnessstudio.",
  [("biometric", "Handgeometrie")], ["Drehkreuz im Fitnessstudio"])
P("de", "Die Bank nutzt Sprachbiometrie an der Hotline, das will ich abschalten.",
  [("biometric", "Sprachbiometrie")], ["Hotline"])
P("de", "Euer Shop hat mein Tippverhalten (Keystroke-Dynamik) als Login-Merkmal gespeichert?!",
  [("biometric", "Tippverhalten (Keystroke-Dynamik)")], ["Shop"])
P("de", "Das 3D-Gesichtsmodell aus der Anprobe-App bitte löschen.",
  [("biometric", "3D-Gesichtsmodell")], ["Anprobe-App"])
P("de", "Die Kletterhalle will für die Mitgliedertür einen Handflächenabdruck von mir, muss ich das?",
  [("biometric", "Handflächenabdruck")], ["Kletterhalle"])
P("de", "Kameras am Eingang erstellen Gangprofile der Kunden – ist das erlaubt?",
  [("biometric", "Gangprofile")], ["Kameras am Eingang"])
# identifiers
P("de", f"Bitte überweisen Sie die Gutschrift auf AT-Konto {at[0]} (Raiffeisen).", [("iban", at[0])], ["Raiffeisen"])
P("de", f"IBAN {ch[0]}, Kontoinhaberin Regula Frei, Bern", [("iban", ch[0])], ["Bern"])
P("de", f"rückzahlung aufs konto {de[0].replace(' ', '').lower()} danke", [("iban", de[0].replace(' ', '').lower())], [])
P("de", f"Unsere Firmen-IBAN hat sich geändert? Nein – das ist mein privates Konto: {de[1]}.", [("iban", de[1])], ["Firmen-IBAN"])
P("de", f"Lastschrift bitte von {be} (belgisches Konto meines Mannes).", [("iban", be)], ["belgisches Konto"])
P("de", f"Ich zahle mit der Visa {visa[0]}, Ablaufdatum 04/29, Prüfziffer 058.", [("card", visa[0]), ("card", "058")], ["Ablaufdatum 04/29"])
P("de", f"kk-nr {fmt_card(mc[0])} cvv 731", [("card", f"{fmt_card(mc[0])} cvv 731")], [])
P("de", f"Amex: {fmt_card(amex[0])} (Firmenkarte meines Chefs, er weiß Bescheid)", [("card", fmt_card(amex[0]))], ["Firmenkarte"])
P("de", f"Steuerliche Identifikationsnummer des Kindes: {fmt_steuer(st[0])}", [("tax_id", fmt_steuer(st[0]))], [])
P("de", f"Für Riester brauchen Sie meine ID-Nr.: {st[1]} – und die meiner Frau: {st[2]}.", [("tax_id", st[1]), ("tax_id", st[2])], ["Riester"])
P("de", f"IdNr. laut Lohnsteuerbescheinigung {st[3][:2]}/{st[3][2:5]}/{st[3][5:8]}/{st[3][8:]}", [("tax_id", f"{st[3][:2]}/{st[3][2:5]}/{st[3][5:8]}/{st[3][8:]}")], ["Lohnsteuerbescheinigung"])
P("de", f"Versicherungsnummer (Rente): {fmt_rv(rvn[0])}", [("social_security", fmt_rv(rvn[0]))], [])
P("de", f"SozVersNr {rvn[1]}, Arbeitsbeginn 01.02.", [("social_security", rvn[1])], ["Arbeitsbeginn"])
P("de", f"Die Deutsche Rentenversicherung fragt nach meiner Nummer {fmt_rv(rvn[2])} – könnt ihr die weiterleiten?", [("social_security", fmt_rv(rvn[2]))], ["Deutsche Rentenversicherung"])
P("de", f"Ausweis-Nr. {ida[0]} / gültig bis 03.2033", [("id_card", ida[0])], ["gültig bis"])
P("de", f"Identitätsprüfung erfolgt, Perso {ida[1][:9]}, Kundin Melanie Brugger.", [("id_card", ida[1][:9])], ["Identitätsprüfung erfolgt"])
P("de", f"Die Nummer auf meinem Personalausweis lautet {ida[2]}, bitte für die Abholung vermerken.", [("id_card", ida[2])], ["Abholung"])
P("de", f"Für den Flug nach Bangkok: Reisepass {pas[0]}, ausgestellt Stadt Wuppertal.", [("passport", pas[0])], ["Flug nach Bangkok"])
P("de", f"Pass-Nr. {pas[1][:9]} (Kinderreisepass? nein, normaler Pass)", [("passport", pas[1][:9])], [])
P("de", f"Passnummer vom Papa: {pas[2]}", [("passport", pas[2])], [])
P("de", "Telefonisch erreichbar unter +43 664 3827 115 (Mo–Fr).", [("phone", "+43 664 3827 115")], ["Mo–Fr"])
P("de", "Natel 079 418 22 63, bitte SMS vor Lieferung.", [("phone", "079 418 22 63")], ["SMS vor Lieferung"])
P("de", "Meine Nummer: 0162-7745019, Festnetz 0621 / 43 98 27", [("phone", "0162-7745019"), ("phone", "0621 / 43 98 27")], [])
P("de", "Antwort bitte an brigitte.hausmann@beispiel-mail.de.", [("email", "brigitte.hausmann@beispiel-mail.de")], [])
P("de", "Mail vom Enkel: finn2011@example.at – der soll die Bestätigung kriegen.", [("email", "finn2011@example.at")], ["Bestätigung"])
P("de", "Kontakt: info.yasemin.k@example.ch", [("email", "info.yasemin.k@example.ch")], [])
# mixed, forms
P("de", f"Name: Konstantin Reiter | Ort: Innsbruck | IBAN: {at[1]} | Tel.: +43 676 2210 948",
  [("iban", at[1]), ("phone", "+43 676 2210 948")], ["Innsbruck"])
P("de", f"Bewerbung Lagerhelfer: Steuer-ID {st[4]}, RV-Nummer {fmt_rv(rvn[3])}, Ausweis {ida[3]}, Mail ahmet.celik@example.de",
  [("tax_id", st[4]), ("social_security", fmt_rv(rvn[3])), ("id_card", ida[3]), ("email", "ahmet.celik@example.de")], ["Bewerbung Lagerhelfer"])
P("de", f"Mietinteressent: Pass {pas[3]}, Kreditkarte {fmt_card(visa[1])}, Handy 0157 8823 4410.",
  [("passport", pas[3]), ("card", fmt_card(visa[1])), ("phone", "0157 8823 4410")], ["Mietinteressent"])
P("de", f"Für die Kaution: IBAN {de[2]}, Personalausweis {ida[4][:9]}, Steuer-ID {fmt_steuer(st[5])}.",
  [("iban", de[2]), ("id_card", ida[4][:9]), ("tax_id", fmt_steuer(st[5]))], ["Kaution"])
P("de", f"Reisebüro-Notiz: Herr und Frau Yıldız, Pässe {pas[4]} und {pas[5]}, pilgern nach Lourdes.",
  [("passport", pas[4]), ("passport", pas[5]), ("religion", "pilgern nach Lourdes")], ["Reisebüro-Notiz"])
P("de", f"Praktikantin, Mitglied der IG BCE-Jugend. SV-Nr. {rvn[4]}, Steuer-ID {st[6]}.",
  [("trade_union", "IG BCE-Jugend"), ("social_security", rvn[4]), ("tax_id", st[6])], ["Praktikantin"])
P("de", f"Kunde sagt am Telefon \"ich bin Jenischer\" und zahlt mit Mastercard {mc[1]}.",
  [("ethnic_origin", "ich bin Jenischer"), ("card", mc[1])], [])
P("de", f"Spende an den Verein, Quittung bitte mit meiner Steuer-ID {st[7]} und Mail an g.ortner@example.de.",
  [("tax_id", st[7]), ("email", "g.ortner@example.de")], ["Quittung"])
P("de", "Mein Onkel ist homo, wir schenken ihm eine Reise nach Gran Canaria.",
  [("sex_life", "homo")], ["Gran Canaria"])
P("de", "Mein Enkel ist seit dem Outing trans und heißt jetzt Noah, bitte so auf das Paket schreiben.",
  [("sex_life", "trans")], ["heißt jetzt Noah"])

# ================================================================ DE evasion
E("de", f"Oma hat {ent('Arthrose', 3)} in beiden Knien und braucht einen Gehstock.", [("health", f"{ent('Arthrose', 3)} in beiden Knien")], ["Gehstock"])
E("de", f"Er hat {hexent('Leukämie', 2)}, bitte Mundschutz beim Ausliefern.", [("health", hexent('Leukämie', 2))], ["Mundschutz"])
E("de", f"Diagnose {shy('Schuppenflechte', 7)} – keine Wolle!", [("health", shy('Schuppenflechte', 7))], ["keine Wolle"])
E("de", f"Die Tochter hat {tag('Anorexie', 4, 'strong')}, bitte keine Schoko-Adventskalender.", [("health", tag('Anorexie', 4, 'strong'))], ["Schoko-Adventskalender"])
E("de", f"Papa hatte einen {comb('Schlaganfall', 6, chr(0x300))} im März.", [("health", f"einen {comb('Schlaganfall', 6, chr(0x300))} im März")], [])
E("de", f"Kd. hat {sep('Gicht', ' ')} und humpelt", [("health", sep('Gicht', ' '))], [])
E("de", f"Befund: {sep('PTBS', '.')}, nicht laut klingeln", [("health", sep('PTBS', '.'))], ["nicht laut klingeln"])
E("de", f"Sie bekommt {wrap('Lithium', 3, 'font')} 450 mg seit Jahren.", [("health", f"{wrap('Lithium', 3, 'font')} 450 mg")], [])
E("de", f"Wir sind {ent('orthodox', 0)} und fasten bis Weihnachten.", [("religion", ent('orthodox', 0)), ("religion", "fasten bis Weihnachten")], [])
E("de", f"Für Opa eine {shy('Mesusa', 3)} für die Haustür.", [("religion", shy('Mesusa', 3))], [])
E("de", f"Er ist {sep('Sikh', '-')} und trägt den Kara-Armreif.", [("religion", sep('Sikh', '-')), ("religion", "Kara-Armreif")], [])
E("de", f"Die Familie sind {tag('Sor', 3, 'i')}ben.", [("ethnic_origin", f"{tag('Sor', 3, 'i')}ben")], [])
E("de", f"Er ist {wrap('CSU', 1)}-Stadtrat.", [("political_opinion", f"{wrap('CSU', 1)}-Stadtrat")], [])
E("de", f"Mitglied im {ent('Marburger', 1)} Bund", [("trade_union", f"{ent('Marburger', 1)} Bund")], [])
E("de", f"ich bin {sep('pansexuell', '.')} lol", [("sex_life", sep('pansexuell', '.'))], [])
E("de", f"Gentest: {hexent('HLA-B27', 0)} positiv", [("genetic", f"{hexent('HLA-B27', 0)} positiv")], [])
E("de", f"Zugang per {shy('Handgeometrie', 4)}", [("biometric", shy('Handgeometrie', 4))], [])
E("de", f"IBAN {ibo_de[:4] + ibo_de[4:].replace('0', 'O')}", [("iban", ibo_de[:4] + ibo_de[4:].replace('0', 'O'))], [])
E("de", f"Konto {ch[1].replace(' ', '<br>')}", [("iban", ch[1].replace(' ', '<br>'))], [])
E("de", f"IBAN: {'.'.join(at[2].split(' '))}", [("iban", '.'.join(at[2].split(' ')))], [])
E("de", f"Karte {fmt_card(visa[2], ' / ')}", [("card", fmt_card(visa[2], ' / '))], [])
E("de", f"Kreditkarte {visa[3][:4]}&nbsp;{visa[3][4:8]}&nbsp;{visa[3][8:12]}&nbsp;{visa[3][12:]} Prüfnr. 6&#56;2", [("card", f"{visa[3][:4]}&nbsp;{visa[3][4:8]}&nbsp;{visa[3][8:12]}&nbsp;{visa[3][12:]} Prüfnr. 6&#56;2")], [])
E("de", f"Steuer-ID {'-'.join([st[8][:2], st[8][2:5], st[8][5:8], st[8][8:]])}", [("tax_id", '-'.join([st[8][:2], st[8][2:5], st[8][5:8], st[8][8:]]))], [])
E("de", f"ID-Nr. {' '.join(st[9])}", [("tax_id", ' '.join(st[9]))], [])
E("de", f"RV-Nr. {rvn[5][:2]}<wbr>{rvn[5][2:8]}<wbr>{rvn[5][8:]}", [("social_security", f"{rvn[5][:2]}<wbr>{rvn[5][2:8]}<wbr>{rvn[5][8:]}")], [])
E("de", f"Ausweis {ida[5][:3]}&shy;{ida[5][3:]}", [("id_card", f"{ida[5][:3]}&shy;{ida[5][3:]}")], [])
E("de", f"Reisepass: {'-'.join(pas[6])}", [("passport", '-'.join(pas[6]))], [])
E("de", "Handy: null-eins-sieben-null, drei-drei-acht, zwo-zwo-vier-eins", [("phone", "null-eins-sieben-null, drei-drei-acht, zwo-zwo-vier-eins")], [])
E("de", "schreib mir: lena [punkt] hoffmann [ät] example [punkt] de", [("email", "lena [punkt] hoffmann [ät] example [punkt] de")], [])
E("de", "Mail: j&#46;weber&#64;example&#46;de", [("email", "j&#46;weber&#64;example&#46;de")], [])
E("de", f"Tel. {'&#48;'}30 1234 8872", [("phone", "&#48;30 1234 8872")], [])

# more DE positives
P("de", "Sie hat seit dem Sommer eine Affäre mit ihrem Chef, deshalb soll die Rechnung nicht nach Hause.",
  [("sex_life", "eine Affäre mit ihrem Chef")], ["nicht nach Hause"])
P("de", "Tay-Sachs-Anlagenträgerin laut Screening vor der Hochzeit, steht im Arztbrief.",
  [("genetic", "Tay-Sachs-Anlagenträgerin")], ["Arztbrief"])
P("de", "Unterschrift auf dem Tablet wird mit Druck und Tempo als Biometrie-Signatur gespeichert, ich will das nicht.",
  [("biometric", "Druck und Tempo als Biometrie-Signatur")], ["Tablet"])
P("de", f"Lohnbüro: neue Kollegin, SV-Nummer {fmt_rv(rvn[6])}, Ausweis {ida[6]}, dienstl. Mail s.petrovic@example.com",
  [("social_security", fmt_rv(rvn[6])), ("id_card", ida[6]), ("email", "s.petrovic@example.com")], ["Lohnbüro"])
P("de", f"Ersatz für den verlorenen Perso {ida[7][:9]} ist beantragt, Pass {pas[7]} liegt vor. RV-Nr {rvn[7]}.",
  [("id_card", ida[7][:9]), ("passport", pas[7]), ("social_security", rvn[7])], ["ist beantragt"])

# ================================================================ DE negative
for t, k in [
    ("Mein Mann ist Hausmeister in der Reha-Klinik und braucht neue Arbeitsschuhe, Größe 44.", ["Hausmeister in der Reha-Klinik"]),
    ("Großkunde Barmer: 300 Thermobecher mit Logo, Lieferung an die Hauptverwaltung Wuppertal.", ["Großkunde Barmer"]),
    ("Lieferadresse Zahnarztpraxis Dr. Ilić, 2. OG, Praxis hat mittwochs zu.", ["Zahnarztpraxis Dr. Ilić"]),
    ("An der Moschee links, dann das dritte Haus mit dem grünen Tor.", ["An der Moschee links"]),
    ("Fronleichnam ist bei uns Feiertag, also bitte nicht am Donnerstag liefern.", ["Fronleichnam ist bei uns Feiertag"]),
    ("Zum Abendessen gibt es Flusskrebse, bitte Kühlbox mitschicken.", ["Flusskrebse"]),
    ("Sternzeichen Löwe – Tasse mit goldenem Löwen bitte.", ["Sternzeichen Löwe"]),
    ("Geschenkidee für die Tochter: Tickets für „Die Ärzte“ in der Waldbühne.", ["Die Ärzte"]),
    ("Der Turnverein bestellt Medizinbälle, 12 Stück à 3 kg.", ["Medizinbälle"]),
    ("Bitte in der Gewerkschaftshaus-Kantine abgeben, da ist die Weihnachtsfeier der Firma Kessler.", ["Gewerkschaftshaus-Kantine"]),
    ("Arbeiterwohlfahrt Ortsverein Gießen bestellt 60 Schokoweihnachtsmänner.", ["Arbeiterwohlfahrt Ortsverein Gießen"]),
    ("Besuchergruppe im Bundestag am 12.3., Lunchpakete für 25 Personen.", ["Besuchergruppe im Bundestag"]),
    ("Die linke Spur war gesperrt, deshalb kam der Fahrer zu spät – kein Problem.", ["Die linke Spur"]),
    ("Das Labor im Keller ist unser Partykeller, der Kühlschrank soll dorthin.", ["Das Labor im Keller"]),
    ("Bitte „Schwanensee“ auf DVD, die Aufführung mit dem Staatsballett.", ["Schwanensee"]),
    ("Christstollen mit Marzipan, 1 kg, Dresdner Art.", ["Christstollen"]),
    ("Der Kirchturm ist gerade eingerüstet, das Haus daneben ist unseres.", ["Der Kirchturm"]),
    ("Zen-Garten-Set für den Schreibtisch meines Chefs, der ist immer so gestresst.", ["Zen-Garten-Set"]),
    ("Buddha-Bowl-Kochbuch und zwei Yogamatten, lila.", ["Buddha-Bowl-Kochbuch"]),
    ("Papa will Jesuslatschen aus Leder, Größe 43.", ["Jesuslatschen"]),
    ("Friedhofsgärtnerei Lenz bestellt Grablichter im Karton zu 24.", ["Friedhofsgärtnerei Lenz"]),
    ("Der Blutspendedienst Nord als Kunde: Kekse für die Spender, 40 Packungen.", ["Blutspendedienst Nord"]),
    ("Herzchen-Kissen für die Oma, rot, mit Knopf.", ["Herzchen-Kissen"]),
    ("Malteser Hilfsdienst bestellt Rettungsdecken für die Ausbildung.", ["Malteser Hilfsdienst"]),
    ("Die Kartoffelsorte Linda bitte, 10 kg, und Zwiebeln.", ["Kartoffelsorte Linda"]),
    ("Zwei Amerikaner und ein Berliner vom Bäcker, für die Kaffeepause.", ["Zwei Amerikaner und ein Berliner"]),
    ("Florentiner und Russisch Brot für den Bunten Teller.", ["Russisch Brot"]),
    ("Ein Sechserpack Indian Pale Ale und Spanische Nüsschen.", ["Indian Pale Ale"]),
    ("Wir feiern eine Party zur Hauseinweihung, 30 Luftballons bitte.", ["Hauseinweihung"]),
    ("Beruf: Rettungssanitäter, Ort: Cottbus", ["Rettungssanitäter"]),
    ("Beruf: Orthopädietechnikerin", ["Orthopädietechnikerin"]),
    ("Beruf: Küster", ["Küster"]),
    ("Ort: Heiligenhaus", ["Heiligenhaus"]),
    ("Ort: Bad Tölz, Beruf: Masseur", ["Masseur"]),
    ("Mei, i hob so an Stress, i glab i kriag a Magengeschwür, wo bleibt mei Packerl?", ["Packerl"]),
    ("Das Wetter macht mich fertig, ich bin reif für die Klapse – Spaß, bitte einfach liefern.", ["bitte einfach liefern"]),
    ("Der Lieferant war blind wie ein Maulwurf, hat das Paket vors falsche Haus gelegt.", ["vors falsche Haus"]),
    ("Unser Kater hat Epilepsie, der Tierarzt hat Tabletten verschrieben – Futterautomat bitte.", ["Unser Kater hat Epilepsie"]),
    ("Die Stute ist trächtig, wir brauchen einen größeren Anhänger.", ["Die Stute ist trächtig"]),
    ("Der Hund ist schwul, sagt mein Sohn, weil er nur Rüden mag – egal, Hundebett XL bitte.", ["Hundebett XL"]),
    ("Handy mit Gesichtsentsperrung und Dual-SIM, bitte in Blau.", ["Gesichtsentsperrung"]),
    ("Der Krimi „Der genetische Fingerabdruck“ als Taschenbuch.", ["Der genetische Fingerabdruck"]),
    ("Experimentierkasten „Detektiv – Fingerabdrücke sichern“ für den Neffen.", ["Fingerabdrücke sichern"]),
    ("Genießer-Set: Schwarzwälder Schinken und Schweizer Käse.", ["Schweizer Käse"]),
    ("Wiener Würstchen, Thüringer Rostbratwurst und Nürnberger, je 1 kg.", ["Wiener Würstchen"]),
    (f"Gläubiger-ID DE98ZZZ09999999999, Mandatsreferenz M-2026-0815.", ["Gläubiger-ID", "Mandatsreferenz"]),
    ("BIC GENODEF1S02 – die IBAN schick ich später.", ["BIC GENODEF1S02"]),
    (f"Die IBAN {bad_ib[0]} wurde von der Bank abgelehnt, bitte korrigieren.", ["von der Bank abgelehnt"]),
    (f"Kartennummer laut Kassenbon {bad_c[0]} – hat nicht funktioniert.", ["Kassenbon"]),
    (f"Vorgangsnummer {bad_s[0]}, bitte bei Rückfragen angeben.", ["Vorgangsnummer"]),
    (f"Seriennummer {bad_d[0]} auf der Rückseite des Geräts.", ["Seriennummer"]),
    ("ISBN 978-3-16-148410-0 bitte zweimal.", ["ISBN"]),
    ("EAN 4006381333931 – der Artikel fehlt im Paket.", ["EAN 4006381333931"]),
    ("Flug LH 2034 am 23.12., Buchungscode K7XQ2P.", ["Buchungscode K7XQ2P"]),
    ("Kennzeichen M-AB 1234 steht vor der Einfahrt, bitte nicht zuparken.", ["Kennzeichen M-AB 1234"]),
    ("Fahrgestellnummer WVWZZZ1JZXW000001 für die Ersatzteilbestellung.", ["Fahrgestellnummer"]),
    ("Handelsregister HRB 48213, Amtsgericht Hamburg.", ["HRB 48213"]),
    ("Aktenzeichen 3 C 218/26, Schreiben vom Amtsgericht liegt bei.", ["Aktenzeichen 3 C 218/26"]),
    ("PLZ 8010 Graz, Zustellung ins Geschäftslokal.", ["PLZ 8010 Graz"]),
    ("Lieferung bitte am 24.12.2026 zwischen 9:00 und 11:30.", ["zwischen 9:00 und 11:30"]),
    ("Hotline-Nummer auf der Website funktioniert nicht, Ticket #48213-77.", ["Ticket #48213-77"]),
    ("Paketnummer 1Z 4F8 W27 68 3319 0042 – Zustellung fehlgeschlagen.", ["Paketnummer"]),
    ("Zählerstand 048213,7 kWh am 31.12.", ["Zählerstand"]),
    ("Mitgliedsnummer im Sportverein: 2211-0043.", ["Mitgliedsnummer im Sportverein"]),
    ("Das Hotel „Zum Mohren“ heißt jetzt „Zur Post“, bitte Adresse anpassen.", ["Zur Post"]),
    ("Kunde fragt nach dem Buch „Die Grünen Hügel Afrikas“ von Hemingway.", ["Die Grünen Hügel Afrikas"]),
    ("Die Konservativen unter den Gartenzwergen: klassisch mit roter Mütze, bitte 3 Stück.", ["klassisch mit roter Mütze"]),
    ("Rote Liste 2026 (Arzneimittelverzeichnis) für die Bücherei der Pflegeschule.", ["Rote Liste 2026"]),
    ("Ich bin Lehrerin an einer Förderschule und brauche Laminierfolien.", ["Lehrerin an einer Förderschule"]),
    ("Meine Schwester arbeitet bei der Diakonie in der Buchhaltung, Paket bitte an sie.", ["bei der Diakonie in der Buchhaltung"]),
    ("Reha-Sport-Gruppe des TSV bestellt Therabänder in Grün.", ["Therabänder"]),
    ("Der Pfarrer hat angerufen: der Basar fällt aus, die Lieferung der Waffeln bitte stornieren.", ["Der Pfarrer hat angerufen"]),
    ("Adventskonzert im Dom – 4 Karten Kategorie B, bitte an die Kasse.", ["Adventskonzert im Dom"]),
    ("Unsere Straße heißt Synagogenweg, das Navi findet sie nicht.", ["Synagogenweg"]),
    ("Tischdeko in den Farben Schwarz-Rot-Gold für die WM-Party.", ["Schwarz-Rot-Gold"]),
    ("Krankenkassen-Magazin im Wartezimmer? Nein, wir wollen das Abo für den Friseursalon.", ["Friseursalon"]),
    ("Kinderbuch „Conni kommt ins Krankenhaus“ – die Enkelin spielt so gern Ärztin.", ["Conni kommt ins Krankenhaus"]),
    ("Wunschzettel von Ben, 5: Feuerwehrauto, Polizeiauto, Krankenwagen mit Sirene.", ["Krankenwagen mit Sirene"]),
    ("Liebes Christkind, ich wünsch mir einen Hamster und einen Schlitten.", ["Schlitten"]),
    ("Opa wünscht sich eine Taschenlampe mit Dynamo für den Keller.", ["Taschenlampe mit Dynamo"]),
    ("Mein Sohn ist Fan von Borussia und will die Bettwäsche in Schwarz-Gelb.", ["Fan von Borussia"]),
    ("Ich bin ein totaler Ordnungsfanatiker, bitte alles beschriftet liefern.", ["alles beschriftet"]),
    ("Die Adventsfeier der Kita St. Elisabeth braucht 50 Mandarinen.", ["Kita St. Elisabeth"]),
    ("Kundin sagt, sie sei „allergisch gegen Montage“ und will Lieferung am Dienstag.", ["Lieferung am Dienstag"]),
    ("Der Streikposten vor dem Werk hat den Lkw durchgelassen, alles gut.", ["Streikposten vor dem Werk"]),
    ("Schokolade „Vollmilch Fairtrade“ aus dem Weltladen der Kirchengemeinde.", ["Weltladen der Kirchengemeinde"]),
    ("Firma Sanitätshaus Kraus bestellt Versandkartons, 200 Stück.", ["Sanitätshaus Kraus"]),
    ("Beruf: Hebamme, Ort: Feldkirch", ["Hebamme"]),
    ("Wohnort: Kreuzlingen", ["Kreuzlingen"]),
    ("Unser Verein „Gehörlosen-Sportclub“ sucht Sponsoren für Trikots – wir sind die Trainer, hörend.", ["Gehörlosen-Sportclub"]),
    ("Die Praxis für Psychotherapie im 1. Stock nimmt keine Pakete an, bitte beim Bäcker.", ["beim Bäcker"]),
    ("Der Betriebsrat hat die Weihnachtsfeier organisiert, Catering für 80.", ["Catering für 80"]),
    ("Fahrradschloss mit Fingerabdruck, das wünsche ich mir – klingt futuristisch!", ["Fahrradschloss mit Fingerabdruck"]),
    ("Bitte die „Blutgruppen-Diät“ nicht mehr schicken, Abo gekündigt.", ["Abo gekündigt"]),
    ("Tschechisches Bier und polnische Gurken für die Feier.", ["polnische Gurken"]),
    ("Die Bahn streikt schon wieder, mein Paket steckt fest.", ["Die Bahn streikt"]),
    ("Für die Tochter einen Arztkittel in Kindergröße 128 – Karneval!", ["Arztkittel"]),
    ("Wir brauchen eine Weihnachtskrippe aus Olivenholz für das Schaufenster.", ["Schaufenster"]),
    ("Der Gesangverein Harmonie singt am Heiligabend, bitte Noten liefern.", ["Gesangverein Harmonie"]),
    ("Grüezi, ich bitte um eine Offerte für 20 Velohelme.", ["Velohelme"]),
    ("Paradeiser, Karfiol und Erdäpfel fürs Sackerl, danke.", ["Paradeiser"]),
]:
    N("de", t, k)

# ================================================================ EN positive
# fresh document and tax numbers for the English texts (no reuse of the German ones)
ida = pick(lambda: make_doc(rng, "id"), 12); pas = pick(lambda: make_doc(rng, "pass"), 8); st = pick(lambda: make_steuer(rng), 12)
P("en", "To Father Christmas from Ruby (8): I want roller skates. And please make Mummy's lupus go away so she can play outside.",
  [("health", "lupus")], ["roller skates"])
P("en", "To whom it may concern, due to my endometriosis I am often signed off sick and could not collect the parcel in time. Please extend the deadline.",
  [("health", "endometriosis"), ("health", "often signed off sick")], ["extend the deadline"])
P("en", "[Agent] Cust has Hashimoto's, on levothyroxine 100 mcg, asked for iodine-free sea salt in the hamper.",
  [("health", "Hashimoto's"), ("health", "levothyroxine 100 mcg")], ["iodine-free sea salt"])
P("en", "Grandad Stan had a stroke in August, right side weak. He'd still love a model railway he can set up one-handed.",
  [("health", "a stroke in August, right side weak")], ["model railway"])
P("en", "Customer's gout has flared, can't wear proper shoes – slippers size 11 extra wide.",
  [("health", "gout has flared")], ["slippers size 11"])
P("en", "Don't come before 11, I have sleep apnoea and sleep with a CPAP mask, won't hear the bell.",
  [("health", "sleep apnoea and sleep with a CPAP mask")], ["before 11"])
P("en", "My wife has psoriasis on her scalp, so the gift should be a fragrance-free shampoo set.",
  [("health", "psoriasis on her scalp")], ["fragrance-free shampoo set"])
P("en", "Sales note: prospect Mrs Lyle, left hip replacement 10/2026, wants a car seat cushion.",
  [("health", "left hip replacement 10/2026")], ["car seat cushion"])
P("en", "our son has tourettes and sometimes shouts on calls, please don't hang up!!",
  [("health", "tourettes")], ["don't hang up"])
P("en", "Y'all, my boy's got dyslexia so an audiobook instead of the paperback, please.",
  [("health", "dyslexia")], ["audiobook"])
P("en", "I spent 6 weeks on a psych ward with PTSD after the crash, that's why the bill went unpaid.",
  [("health", "6 weeks on a psych ward with PTSD")], ["bill went unpaid"])
P("en", "Customer takes methotrexate 20mg weekly for psoriatic arthritis, wants a grabber tool.",
  [("health", "methotrexate 20mg weekly"), ("health", "psoriatic arthritis")], ["grabber tool"])
P("en", "Mum's got glaucoma in both eyes, a magnifier with a light would be grand.",
  [("health", "glaucoma in both eyes")], ["magnifier with a light"])
P("en", "Send it to my daughter please, since the chemo for leukaemia (CLL) I'm too weak for the front door.",
  [("health", "chemo for leukaemia (CLL)")], ["front door"])
P("en", "Mr Dunmore is incontinent, please deliver the pull-ups size L discreetly.",
  [("health", "incontinent")], ["size L"])
P("en", "Grandson Kai, 15, wants a gaming headset. He has anorexia and was an inpatient till October, no sweets in the box please.",
  [("health", "anorexia and was an inpatient till October")], ["gaming headset"])
P("en", "Note: per his wife the customer is a compulsive gambler, block gift-card purchases.",
  [("health", "compulsive gambler")], ["gift-card purchases"])
P("en", "My husband has prostate cancer, Gleason 7, PSA last at 9.8. He'd like binoculars for birdwatching.",
  [("health", "prostate cancer, Gleason 7, PSA last at 9.8")], ["binoculars"])
P("en", "Hep C cured but I still tire easily – parcels only to the flat door please.",
  [("health", "Hep C cured")], ["flat door"])
P("en", "My daughter-in-law is 14 weeks along, so hold the car seat for us.",
  [("health", "14 weeks along")], ["car seat"])
P("en", "After shingles on his face Dad can't see well out of his left eye, big-button phone please.",
  [("health", "shingles on his face"), ("health", "can't see well out of his left eye")], ["big-button phone"])
P("en", "She's been on semaglutide 2.4 mg since May, lost 30 lbs, needs jeans in a size 10.",
  [("health", "semaglutide 2.4 mg")], ["jeans in a size 10"])
P("en", "S/p CABG x3, lifting limit 10 lb – courier please carry inside.",
  [("health", "S/p CABG x3, lifting limit 10 lb")], ["carry inside"])
P("en", "I have fibromyalgia and today's a bad day, can we push the call to Friday?",
  [("health", "fibromyalgia")], ["Friday"])
P("en", "No glitter on Ethan's present please, he has OCD and it sets him off.",
  [("health", "he has OCD")], ["No glitter"])
P("en", "Neighbour wears hearing aids in both ears and is still hard of hearing, ring long.",
  [("health", "hearing aids in both ears and is still hard of hearing")], ["ring long"])
P("en", "Patient has cerebral palsy, uses a power chair, needs a ramp for the delivery van.",
  [("health", "cerebral palsy, uses a power chair")], ["ramp for the delivery van"])
P("en", "Mr T. has erectile dysfunction and asks if the tablets come by post.",
  [("health", "erectile dysfunction")], ["by post"])
P("en", "He's on warfarin 5mg so he bruises easily, the parcel must not be heavy.",
  [("health", "warfarin 5mg")], ["must not be heavy"])
# religion
P("en", "Our son has his First Communion in May, we want a communion candle with a dove.",
  [("religion", "First Communion"), ("religion", "communion candle with a dove")], [])
P("en", "We're Greek Orthodox, Christmas for us is 7 January, so deliver after that.",
  [("religion", "Greek Orthodox")], ["7 January"])
P("en", "Customer is a Sikh and wears a turban, asked if the bike helmet comes in XXL.",
  [("religion", "a Sikh and wears a turban")], ["bike helmet"])
P("en", "We keep kosher, so the gift basket can't have the salami.",
  [("religion", "We keep kosher")], ["gift basket"])
P("en", "Gran's a Buddhist and meditates every morning, she'd like a zafu cushion.",
  [("religion", "a Buddhist"), ("religion", "meditates every morning")], [])
P("en", "For the Patel family's Diwali puja please deliver the diyas by Friday.",
  [("religion", "Diwali puja")], ["by Friday"])
P("en", "He's Mormon and goes to the temple on Tuesdays, book him Wednesday.",
  [("religion", "Mormon"), ("religion", "goes to the temple on Tuesdays")], ["Wednesday"])
P("en", "My daughter left the church and says she's an atheist now, so no cross on the card!",
  [("religion", "left the church and says she's an atheist now")], ["on the card"])
P("en", "Religion: Quaker (Society of Friends)", [("religion", "Quaker (Society of Friends)")], [])
P("en", "For my father-in-law a prayer mat with a compass, he prays five times a day.",
  [("religion", "prayer mat with a compass"), ("religion", "prays five times a day")], [])
P("en", "For my godson's confirmation, a Bible with his name engraved.",
  [("religion", "godson's confirmation"), ("religion", "Bible with his name engraved")], [])
P("en", "No deliveries on Yom Kippur please, we'll be at shul all day.",
  [("religion", "at shul all day")], ["No deliveries"])
# ethnic
P("en", "The Hernandez family are Latino and want the instructions in Spanish.",
  [("ethnic_origin", "Latino")], ["instructions in Spanish"])
P("en", "Customer is Aboriginal (Wiradjuri) and objects to the 'tribal' print on the rug.",
  [("ethnic_origin", "Aboriginal (Wiradjuri)")], ["the rug"])
P("en", "She's Māori and wants the pounamu pendant for her nephew.",
  [("ethnic_origin", "Māori")], ["pounamu pendant"])
P("en", "As a British Bangladeshi I get followed round your store every time. Complaint to the manager.",
  [("ethnic_origin", "British Bangladeshi")], ["the manager"])
P("en", "Nan is Afro-Caribbean and the salon kit needs products for her hair type.",
  [("ethnic_origin", "Afro-Caribbean")], ["salon kit"])
P("en", "Ethnic group: Mixed – White and Black African", [("ethnic_origin", "Mixed – White and Black African")], [])
P("en", "Landlord turned us down because we're Hmong, I told your hotline that too.",
  [("ethnic_origin", "we're Hmong")], ["hotline"])
# political
P("en", "My father-in-law has been a Lib Dem member for 30 years and wants an engraved tankard.",
  [("political_opinion", "Lib Dem member")], ["engraved tankard"])
P("en", "Caller says she voted Plaid Cymru and regrets nothing.",
  [("political_opinion", "voted Plaid Cymru")], ["regrets nothing"])
P("en", "The DUP candidate for the council ordered a road bike privately.",
  [("political_opinion", "DUP candidate for the council")], ["road bike"])
P("en", "I'm in the local DSA chapter and need a megaphone for Saturday.",
  [("political_opinion", "in the local DSA chapter")], ["megaphone"])
P("en", "Dad is MAGA all the way, Mum's a Bernie girl – Thanksgiving will be loud.",
  [("political_opinion", "MAGA all the way"), ("political_opinion", "a Bernie girl")], ["Thanksgiving will be loud"])
P("en", "Customer says he's a card-carrying Libertarian and wants no tracking cookies.",
  [("political_opinion", "card-carrying Libertarian")], ["tracking cookies"])
P("en", "Our daughter glues herself to roads with Just Stop Oil, send it to us not her.",
  [("political_opinion", "glues herself to roads with Just Stop Oil")], ["send it to us"])
P("en", "Sinn Féin voter, wants the invoice in Irish.", [("political_opinion", "Sinn Féin voter")], ["invoice in Irish"])
# union
P("en", "My husband is a steward for the PCS at the tax office and works till 10.",
  [("trade_union", "steward for the PCS")], ["works till 10"])
P("en", "She's an RCN member and they're striking Tuesday, move the appointment to Wednesday.",
  [("trade_union", "RCN member")], ["Wednesday"])
P("en", "Joined the BMA for the junior doctors' strike, delivery after New Year.",
  [("trade_union", "Joined the BMA")], ["after New Year"])
P("en", "He's in the IBEW local, deliver to the job site in Tacoma.",
  [("trade_union", "in the IBEW local")], ["job site in Tacoma"])
P("en", "Union: SAG-AFTRA, membership card enclosed.", [("trade_union", "SAG-AFTRA")], [])
P("en", "She's the AFT building rep and needs coffee for 40 teachers.",
  [("trade_union", "AFT building rep")], ["coffee for 40 teachers"])
P("en", "My brother's with Usdaw at the warehouse, they're balloting next week.",
  [("trade_union", "with Usdaw")], ["balloting next week"])
# sex life
P("en", "We're polyamorous, three of us, so three names on the Christmas card.",
  [("sex_life", "polyamorous, three of us")], ["three names"])
P("en", "My brother is pansexual and the parents are being awful, send his gift to mine.",
  [("sex_life", "pansexual")], ["send his gift to mine"])
P("en", "Customer wants discreet shipping, he's on Grindr and doesn't want the neighbours to know.",
  [("sex_life", "he's on Grindr")], ["discreet shipping"])
P("en", "She and her husband are in an open marriage, the boyfriend gets a present too.",
  [("sex_life", "in an open marriage")], ["a present too"])
P("en", "Order of BDSM gear for the couple, neutral sender name please.",
  [("sex_life", "BDSM gear")], ["neutral sender name"])
P("en", "My uncle is queer and we're sending him and his partner on a trip to Mykonos.",
  [("sex_life", "queer")], ["Mykonos"])
P("en", "She's been having an affair with her boss since summer, so no bills to the house.",
  [("sex_life", "having an affair with her boss")], ["no bills to the house"])
P("en", "My grandson came out as trans and goes by Noor now, please put that on the parcel.",
  [("sex_life", "came out as trans")], ["goes by Noor now"])
# genetic
P("en", "Genetics report: HFE C282Y homozygous (haemochromatosis), please forward to my GP.",
  [("genetic", "HFE C282Y homozygous (haemochromatosis)")], ["my GP"])
P("en", "My son is HLA-B27 positive, it's in the rheumatologist's letter.",
  [("genetic", "HLA-B27 positive")], ["rheumatologist's letter"])
P("en", "We both carry the sickle cell trait, hence the counselling session.",
  [("genetic", "carry the sickle cell trait")], ["counselling session"])
P("en", "Whole-genome sequencing showed my nephew has fragile X syndrome.",
  [("genetic", "Whole-genome sequencing showed my nephew has fragile X syndrome")], [])
P("en", "AncestryDNA says 30% Ashkenazi and a half-sister in Ohio!",
  [("genetic", "AncestryDNA says 30% Ashkenazi and a half-sister in Ohio")], [])
P("en", "MTHFR variant, heterozygous – that's why she takes folate, the customer writes.",
  [("genetic", "MTHFR variant, heterozygous")], ["folate"])
P("en", "Tay-Sachs carrier per the pre-wedding screening, noted in the clinic letter.",
  [("genetic", "Tay-Sachs carrier")], ["clinic letter"])
# biometric
P("en", "I object to my hand geometry being stored at the gym turnstile.",
  [("biometric", "hand geometry")], ["gym turnstile"])
P("en", "The bank uses voice biometrics on the helpline, I want it switched off.",
  [("biometric", "voice biometrics")], ["helpline"])
P("en", "Your shop saved my typing rhythm (keystroke dynamics) as a login factor?!",
  [("biometric", "typing rhythm (keystroke dynamics)")], ["login factor"])
P("en", "Delete the 3D face map from the try-on app please.",
  [("biometric", "3D face map")], ["try-on app"])
P("en", "The climbing centre wants a palm print for the members' door, do I have to?",
  [("biometric", "palm print")], ["climbing centre"])
P("en", "Cameras at the entrance build gait profiles of shoppers – is that legal?",
  [("biometric", "gait profiles")], ["Cameras at the entrance"])
P("en", "The signature pad records pressure and speed as a biometric signature, I don't consent.",
  [("biometric", "pressure and speed as a biometric signature")], ["signature pad"])
# identifiers
P("en", f"Please credit the refund to {gb[0]} (Nationwide).", [("iban", gb[0])], ["Nationwide"])
P("en", f"IBAN {ie}, account name Siobhan Kearney, Galway", [("iban", ie)], ["Galway"])
P("en", f"refund to {gb[1].replace(' ', '').lower()} cheers", [("iban", gb[1].replace(' ', '').lower())], [])
P("en", f"Wire the deposit to my Spanish account {es}.", [("iban", es)], ["Spanish account"])
P("en", f"Direct debit from {pl} (my wife's Polish account).", [("iban", pl)], ["Polish account"])
P("en", f"I'll pay with Visa {visa[4]}, expiry 06/30, CVV 204.", [("card", visa[4]), ("card", "204")], ["expiry 06/30"])
P("en", f"cc# {fmt_card(mc[2])} sec code 883", [("card", f"{fmt_card(mc[2])} sec code 883")], [])
P("en", f"Amex: {fmt_card(amex[1])} (boss's corporate card, he knows)", [("card", fmt_card(amex[1]))], ["corporate card"])
P("en", f"Social Security No. {ssn[0]}", [("social_security", ssn[0])], [])
P("en", f"For the I-9 my SSN is {ssn[1].replace('-', '')}.", [("social_security", ssn[1].replace('-', ''))], ["I-9"])
P("en", f"NINO {nino[0]}, start date 1 Feb.", [("social_security", nino[0])], ["start date"])
P("en", f"HMRC keeps asking for my national insurance no., it's {nino[1].lower()}", [("social_security", nino[1].lower())], ["HMRC"])
P("en", f"My German tax identification number: {fmt_steuer(st[10])}", [("tax_id", fmt_steuer(st[10]))], [])
P("en", f"ITIN {itin[0]} and spouse's ITIN {itin[1]} for the joint return.", [("tax_id", itin[0]), ("tax_id", itin[1])], ["joint return"])
P("en", f"Individual Taxpayer Identification Number: {itin[2].replace('-', ' ')}", [("tax_id", itin[2].replace('-', ' '))], [])
P("en", f"German ID card {ida[8]}, valid to 03/2033", [("id_card", ida[8])], ["valid to"])
P("en", f"Identity checked, Personalausweis {ida[9][:9]}, customer Marlene Auer.", [("id_card", ida[9][:9])], ["Identity checked"])
P("en", "UK passport no. 532981047, issued 2022.", [("passport", "532981047")], ["issued 2022"])
P("en", f"For the flight to Bangkok: German passport {pas[0]}.", [("passport", pas[0])], ["flight to Bangkok"])
P("en", "Passport # 647120398 (US), exp 2034", [("passport", "647120398")], [])
P("en", "Reach me on +44 7700 900 146 (Mon–Fri).", [("phone", "+44 7700 900 146")], ["Mon–Fri"])
P("en", "cell 555-0187, text before delivery", [("phone", "555-0187")], ["text before delivery"])
P("en", "My number: 07700900583, landline 0113 496 0721", [("phone", "07700900583"), ("phone", "0113 496 0721")], [])
P("en", "Reply to bernadette.quinn@example.ie please.", [("email", "bernadette.quinn@example.ie")], [])
P("en", "Grandson's email: leo.2012@example.com – send him the confirmation.", [("email", "leo.2012@example.com")], ["confirmation"])
P("en", "Contact: tunde.ade@mailbox.example", [("email", "tunde.ade@mailbox.example")], [])
# mixed
P("en", f"Name: Callum Fraser | Town: Inverness | IBAN: {gb[2]} | Tel: 07700 900 977",
  [("iban", gb[2]), ("phone", "07700 900 977")], ["Inverness"])
P("en", f"Warehouse applicant: SSN {ssn[2]}, ITIN n/a, passport 219384756, email d.okafor@example.org",
  [("social_security", ssn[2]), ("passport", "219384756"), ("email", "d.okafor@example.org")], ["Warehouse applicant"])
P("en", f"Rental applicant: passport {pas[1]}, card {fmt_card(visa[5])}, mobile (555) 013-2260.",
  [("passport", pas[1]), ("card", fmt_card(visa[5])), ("phone", "(555) 013-2260")], ["Rental applicant"])
P("en", f"Deposit: IBAN {lu}, German ID {ida[10][:9]}, German tax ID {st[11]}.",
  [("iban", lu), ("id_card", ida[10][:9]), ("tax_id", st[11])], ["Deposit"])
P("en", f"Travel agent note: Mr and Mrs Haddad, passports {pas[2]} and {pas[3]}, on Hajj in June.",
  [("passport", pas[2]), ("passport", pas[3]), ("religion", "on Hajj")], ["Travel agent note"])
P("en", f"Intern, CWU member. NI {nino[2]}, SSN n/a.", [("trade_union", "CWU member"), ("social_security", nino[2])], ["Intern"])
P("en", f"Customer told us 'I'm a Traveller, Romanichal' and paid with Mastercard {mc[3]}.",
  [("ethnic_origin", "I'm a Traveller, Romanichal"), ("card", mc[3])], [])
P("en", f"Donation receipt needs my ITIN {itin[3]}, email it to f.osei@example.net.",
  [("tax_id", itin[3]), ("email", "f.osei@example.net")], ["Donation receipt"])
P("en", f"Payroll: new hire, NI {nino[3]}, German ID {ida[11]}, work email a.lindqvist@example.com",
  [("social_security", nino[3]), ("id_card", ida[11]), ("email", "a.lindqvist@example.com")], ["Payroll"])
P("en", f"Replacement for lost ID card {ida[4]} applied for, passport {pas[4]} on file, SSN {ssn[3]}.",
  [("id_card", ida[4]), ("passport", pas[4]), ("social_security", ssn[3])], ["applied for"])
P("en", f"Refund to my Danish account {dk} and call me on +45 20 11 98 47.", [("iban", dk), ("phone", "+45 20 11 98 47")], [])

# ================================================================ EN evasion
E("en", f"Nan has {ent('osteoarthritis', 5)} in both knees and needs a walking stick.", [("health", f"{ent('osteoarthritis', 5)} in both knees")], ["walking stick"])
E("en", f"He has {hexent('leukaemia', 3)}, please wear a mask on delivery.", [("health", hexent('leukaemia', 3))], ["wear a mask"])
E("en", f"Diagnosis {shy('fibromyalgia', 5)} – soft fabrics only", [("health", shy('fibromyalgia', 5))], ["soft fabrics only"])
E("en", f"Our girl has {tag('bulimia', 3, 'strong')}, no chocolate advent calendar please.", [("health", tag('bulimia', 3, 'strong'))], ["chocolate advent calendar"])
E("en", f"Dad had a {comb('stroke', 3, chr(0x300))} in March.", [("health", f"a {comb('stroke', 3, chr(0x300))} in March")], [])
E("en", f"cust has {sep('gout', ' ')} and limps", [("health", sep('gout', ' '))], [])
E("en", f"Dx: {sep('PTSD', '.')}, don't knock loudly", [("health", sep('PTSD', '.'))], ["don't knock loudly"])
E("en", f"She's been on {wrap('lithium', 3, 'font')} 600 mg for years.", [("health", f"{wrap('lithium', 3, 'font')} 600 mg")], [])
E("en", f"We're {ent('Orthodox', 0)} and fast until Christmas.", [("religion", ent('Orthodox', 0)), ("religion", "fast until Christmas")], [])
E("en", f"For Grandpa a {shy('mezuzah', 3)} for the front door.", [("religion", shy('mezuzah', 3))], [])
E("en", f"He's {sep('Hindu', '-')} and wears a sacred thread.", [("religion", sep('Hindu', '-')), ("religion", "sacred thread")], [])
E("en", f"The family are {tag('Lat', 3, 'i')}ino.", [("ethnic_origin", f"{tag('Lat', 3, 'i')}ino")], [])
E("en", f"He's a {wrap('Lib Dem', 4)} councillor.", [("political_opinion", f"{wrap('Lib Dem', 4)} councillor")], [])
E("en", f"Member of the {ent('Royal', 1)} College of Nursing", [("trade_union", f"{ent('Royal', 1)} College of Nursing")], [])
E("en", f"i'm {sep('pansexual', '.')} lol", [("sex_life", sep('pansexual', '.'))], [])
E("en", f"Gene test: {hexent('HLA-B27', 0)} positive", [("genetic", f"{hexent('HLA-B27', 0)} positive")], [])
E("en", f"Sickle cell {shy('trait', 2)} confirmed by the lab", [("genetic", f"Sickle cell {shy('trait', 2)}")], [])
E("en", f"Entry by {shy('hand geometry', 2)}", [("biometric", shy('hand geometry', 2))], [])
E("en", f"Delete my {tag('face', 2, 'b')}print from the kiosk", [("biometric", f"{tag('face', 2, 'b')}print")], ["kiosk"])
E("en", f"IBAN {ibo_gb[:4] + ibo_gb[4:].replace('0', 'O')}", [("iban", ibo_gb[:4] + ibo_gb[4:].replace('0', 'O'))], [])
E("en", f"Account {gb[3].replace(' ', '<br>')}", [("iban", gb[3].replace(' ', '<br>'))], [])
E("en", f"Card {fmt_card(visa[6], ' / ')}", [("card", fmt_card(visa[6], ' / '))], [])
E("en", f"credit card {mc[4][:4]}&nbsp;{mc[4][4:8]}&nbsp;{mc[4][8:12]}&nbsp;{mc[4][12:]} CVV 3&#55;1", [("card", f"{mc[4][:4]}&nbsp;{mc[4][4:8]}&nbsp;{mc[4][8:12]}&nbsp;{mc[4][12:]} CVV 3&#55;1")], [])
E("en", f"Amex {'.'.join([amex[2][:4], amex[2][4:10], amex[2][10:]])}", [("card", '.'.join([amex[2][:4], amex[2][4:10], amex[2][10:]]))], [])
E("en", f"ITIN {itin[4].replace('-', '&nbsp;')}", [("tax_id", itin[4].replace('-', '&nbsp;'))], [])
E("en", f"German tax ID {'-'.join([st[9][:2], st[9][2:5], st[9][5:8], st[9][8:]])}", [("tax_id", '-'.join([st[9][:2], st[9][2:5], st[9][5:8], st[9][8:]]))], [])
E("en", f"SSN {ssn[4][:3]}<wbr>{ssn[4][3:7]}<wbr>{ssn[4][7:]}", [("social_security", f"{ssn[4][:3]}<wbr>{ssn[4][3:7]}<wbr>{ssn[4][7:]}")], [])
E("en", f"NI no. {' '.join(nino[4].replace(' ', ''))}", [("social_security", ' '.join(nino[4].replace(' ', '')))], [])
E("en", f"German ID {ida[5][:3]}&shy;{ida[5][3:]}", [("id_card", f"{ida[5][:3]}&shy;{ida[5][3:]}")], [])
E("en", f"ID card no: {'-'.join(ida[2])}", [("id_card", '-'.join(ida[2]))], [])
E("en", f"passport: {'-'.join(pas[6])}", [("passport", '-'.join(pas[6]))], [])
E("en", "mobile: oh-seven-seven-oh-oh, nine-oh-oh, three-one-nine", [("phone", "oh-seven-seven-oh-oh, nine-oh-oh, three-one-nine")], [])
E("en", "write to me: nina [dot] cho [at] example [dot] com", [("email", "nina [dot] cho [at] example [dot] com")], [])
E("en", "Email: p&#46;murphy&#64;example&#46;ie", [("email", "p&#46;murphy&#64;example&#46;ie")], [])
E("en", "Tel. &#48;1632 960 418", [("phone", "&#48;1632 960 418")], [])

ida12 = make_doc(rng, "id")
P("en", f"Expat form – ID document: German Personalausweis, number {ida12}, nationality German", [("id_card", ida12)], ["Expat form"])

# ================================================================ EN negative
for t, k in [
    ("My husband is the caretaker at the rehab centre and needs new work boots, size 10.", ["caretaker at the rehab centre"]),
    ("Key account Bupa: 300 travel mugs with logo, deliver to head office.", ["Key account Bupa"]),
    ("Deliver to Dr Okoro's dental surgery, 2nd floor, closed Wednesdays.", ["Dr Okoro's dental surgery"]),
    ("Turn left at the mosque, then the third house with the green gate.", ["Turn left at the mosque"]),
    ("Good Friday is a bank holiday here, so no delivery that day.", ["Good Friday is a bank holiday"]),
    ("We're having crayfish for dinner, please send a cool box.", ["crayfish"]),
    ("Star sign Leo – a mug with a golden lion please.", ["Star sign Leo"]),
    ("Gift idea for my daughter: tickets for Doctor Who Live at the arena.", ["Doctor Who Live"]),
    ("The gymnastics club is ordering medicine balls, 12 at 3 kg.", ["medicine balls"]),
    ("Leave it in the union hall canteen, that's where the Kessler Ltd Christmas do is.", ["union hall canteen"]),
    ("Age UK branch in Hull ordering 60 chocolate Santas.", ["Age UK branch"]),
    ("School trip to the Houses of Parliament on 12 March, packed lunches for 25.", ["Houses of Parliament"]),
    ("The left lane was closed so the driver was late – no problem.", ["The left lane"]),
    ("The lab in our basement is the party room, the fridge goes there.", ["The lab in our basement"]),
    ("Swan Lake on DVD please, the Royal Ballet version.", ["Swan Lake"]),
    ("Christmas pudding and mince pies, two boxes.", ["Christmas pudding"]),
    ("The church spire has scaffolding on it, ours is the house next to it.", ["The church spire"]),
    ("Buddha bowl cookbook and two yoga mats, purple.", ["Buddha bowl cookbook"]),
    ("Dad wants Jesus sandals in leather, size 9.", ["Jesus sandals"]),
    ("Greenway Funeral Directors ordering grave candles, boxes of 24.", ["Greenway Funeral Directors"]),
    ("NHS Blood and Transplant as customer: biscuits for donors, 40 packs.", ["NHS Blood and Transplant"]),
    ("Heart-shaped cushion for Nan, red, with a button.", ["Heart-shaped cushion"]),
    ("St John Ambulance ordering foil blankets for training.", ["St John Ambulance"]),
    ("Maris Piper potatoes please, 10 kg, and onions.", ["Maris Piper potatoes"]),
    ("Two Danish pastries and a Bath bun for the tea break.", ["Danish pastries"]),
    ("Turkish delight and Brazil nuts for the Christmas bowl.", ["Turkish delight"]),
    ("A six-pack of India Pale Ale and some Scotch eggs.", ["India Pale Ale"]),
    ("Hawaiian pizza and French fries for the office party.", ["Hawaiian pizza"]),
    ("Irish coffee glasses, set of 4.", ["Irish coffee glasses"]),
    ("Occupation: Paramedic, Town: Stoke", ["Paramedic"]),
    ("Occupation: Prosthetics technician", ["Prosthetics technician"]),
    ("Occupation: Verger", ["Verger"]),
    ("Town: Holyhead", ["Holyhead"]),
    ("City: Bethlehem, PA, Occupation: Massage therapist", ["Massage therapist"]),
    ("I'm so stressed I'll get an ulcer, where's my parcel??", ["where's my parcel"]),
    ("This weather is driving me round the bend, I'm ready for the funny farm – joking, just deliver it.", ["just deliver it"]),
    ("The courier was blind as a bat, left it at the wrong house.", ["left it at the wrong house"]),
    ("Our tomcat has epilepsy, the vet prescribed tablets – automatic feeder please.", ["Our tomcat has epilepsy"]),
    ("The mare is in foal, we need a bigger trailer.", ["The mare is in foal"]),
    ("Phone with face unlock and dual SIM, in blue please.", ["face unlock"]),
    ("The crime novel 'The Genetic Fingerprint' in paperback.", ["The Genetic Fingerprint"]),
    ("Detective kit 'Dust for Fingerprints' for my nephew.", ["Dust for Fingerprints"]),
    ("Cheese board: Red Leicester, Wensleydale and Swiss cheese.", ["Swiss cheese"]),
    ("Frankfurters, Cumberland sausages and Polish kielbasa, 1 kg each.", ["Frankfurters"]),
    ("Creditor identifier GB98ZZZSDDBARC0000007495895, mandate ref M-2026-0815.", ["Creditor identifier", "mandate ref"]),
    ("Sort code 20-00-00 is the branch, I'll send the account later.", ["Sort code 20-00-00"]),
    (f"The IBAN {bad_gb[0]} was rejected by the bank, please fix it.", ["rejected by the bank"]),
    (f"Card number on the receipt {bad_c[1]} – didn't work.", ["receipt"]),
    (f"Case number {bad_s[1]}, quote it if you call.", ["Case number"]),
    (f"Serial number {bad_d[1]} on the back of the device.", ["Serial number"]),
    ("ISBN 978-0-14-103614-4 twice please.", ["ISBN"]),
    ("UPC 036000291452 – item missing from the box.", ["UPC 036000291452"]),
    ("Flight BA 117 on 23 Dec, booking ref K7XQ2P.", ["booking ref K7XQ2P"]),
    ("Number plate AB12 CDE is parked by the gate, don't block it.", ["Number plate AB12 CDE"]),
    ("VIN 1HGCM82633A004352 for the parts order.", ["VIN"]),
    ("Company number 08123459, registered in England and Wales.", ["Company number"]),
    ("Claim ref CV-2026-004471, letter from the county court enclosed.", ["Claim ref"]),
    ("Postcode SW1A 1AA, deliver to reception.", ["Postcode SW1A 1AA"]),
    ("ZIP 90210, leave at the front desk.", ["ZIP 90210"]),
    ("Delivery on 24/12/2026 between 9:00 and 11:30 please.", ["between 9:00 and 11:30"]),
    ("The helpline number on your website doesn't work, ticket #48213-77.", ["ticket #48213-77"]),
    ("Parcel 1Z 4F8 W27 68 3319 0042 – delivery failed.", ["delivery failed"]),
    ("Meter reading 048213.7 kWh on 31 Dec.", ["Meter reading"]),
    ("Gym membership number 2211-0043.", ["Gym membership number"]),
    ("Book 'Fried Green Tomatoes at the Whistle Stop Cafe', paperback.", ["Fried Green Tomatoes"]),
    ("Garden gnome set 'The Conservatives': classic with red hats, 3 please.", ["classic with red hats"]),
    ("BNF 2026 (drug formulary) for the nursing school library.", ["BNF 2026"]),
    ("I teach at a special school and need laminating pouches.", ["teach at a special school"]),
    ("My sister works in accounts at the Church Army, send it to her.", ["works in accounts at the Church Army"]),
    ("The vicar rang: the bazaar is off, cancel the waffle order please.", ["The vicar rang"]),
    ("Carol concert at the cathedral – 4 tickets, band B, collect at the box office.", ["Carol concert at the cathedral"]),
    ("Our road is called Synagogue Lane, the satnav can't find it.", ["Synagogue Lane"]),
    ("Union Jack bunting for the street party.", ["Union Jack bunting"]),
    ("Children's book 'Topsy and Tim Go to Hospital' – my granddaughter loves playing doctor.", ["Topsy and Tim Go to Hospital"]),
    ("Wish list from Ben, 5: fire engine, police car, ambulance with siren.", ["ambulance with siren"]),
    ("Dear Santa, I would like a hamster and a sledge.", ["a sledge"]),
    ("Grandad wants a wind-up torch for the shed.", ["wind-up torch"]),
    ("My son supports Arsenal and wants the red duvet set.", ["supports Arsenal"]),
    ("St Elizabeth's Nursery Christmas party needs 50 satsumas.", ["St Elizabeth's Nursery"]),
    ("Customer says she's 'allergic to Mondays', deliver Tuesday.", ["deliver Tuesday"]),
    ("The picket line outside the plant let the lorry through, all good.", ["picket line outside the plant"]),
    ("Fairtrade chocolate from the church's charity shop.", ["church's charity shop"]),
    ("Mobility shop Kraus & Co ordering shipping boxes, 200.", ["Mobility shop Kraus & Co"]),
    ("Occupation: Midwife, Town: Omagh", ["Midwife"]),
    ("Place of residence: Temple, Texas", ["Temple, Texas"]),
    ("Our club 'Deaf Sports Club' wants sponsors for shirts – we're the coaches, hearing.", ["Deaf Sports Club"]),
    ("The therapy practice on the 1st floor won't take parcels, leave it at the bakery.", ["leave it at the bakery"]),
    ("Bike lock with fingerprint reader, that's my wish – sounds so futuristic!", ["Bike lock with fingerprint reader"]),
    ("Stop sending the 'Blood Type Diet' magazine, subscription cancelled.", ["subscription cancelled"]),
    ("Czech beer and Polish pickles for the party.", ["Polish pickles"]),
    ("Trains are on strike again, my parcel is stuck.", ["Trains are on strike"]),
    ("A doctor's coat for my daughter, age 7–8 – it's for World Book Day!", ["World Book Day"]),
    ("We need an olive-wood nativity scene for the shop window.", ["shop window"]),
    ("The choral society sings on Christmas Eve, please deliver the scores.", ["choral society"]),
    ("Labor Day sale: 20% off all grills, does that apply online?", ["Labor Day sale"]),
    ("Deliver to Union Station, locker bank C.", ["Union Station"]),
    ("Send the statement to Sunrise Credit Union, attn. Loans.", ["Sunrise Credit Union"]),
    ("The Mad Hatter's tea party set for my niece's birthday.", ["tea party set"]),
    ("Add a liberal amount of brandy butter to the hamper, ha.", ["brandy butter"]),
    ("Victorian conservatory kit, 3 m x 4 m, delivery by lorry.", ["Victorian conservatory kit"]),
    ("Dr Martens boots, size 6, cherry red.", ["Dr Martens boots"]),
    ("Cancer Research UK shop on the high street sells our calendars – restock 30.", ["Cancer Research UK shop"]),
    ("Tickets for Queen + Adam Lambert, two please.", ["Queen + Adam Lambert"]),
    ("I'd kill for a coffee right now, anyway the order is late.", ["the order is late"]),
    ("Chinese lanterns for the garden, 20 of them.", ["Chinese lanterns"]),
]:
    N("en", t, k)

# more evasions and negatives
E("de", f"Sie hat {sep('Endometriose', '_')} und ist oft krank", [("health", sep('Endometriose', '_'))], [])
E("de", f"Kunde ist {ent('Buddhist', 0)}, bitte kein Fleisch im Korb", [("religion", ent('Buddhist', 0))], ["kein Fleisch im Korb"])
E("de", f"Die Oma ist {tag('Russland', 8, 'u')}deutsche", [("ethnic_origin", f"{tag('Russland', 8, 'u')}deutsche")], [])
E("de", f"meine mail: {'h.lutz'}＠example.de", [("email", "h.lutz＠example.de")], [])
E("de", f"Mein Mann hat {comb('Prostatakrebs', 2, chr(0x301))}, Stadium T2", [("health", f"{comb('Prostatakrebs', 2, chr(0x301))}, Stadium T2")], [])
E("en", f"She has {sep('endometriosis', '_')} and is off sick a lot", [("health", sep('endometriosis', '_'))], [])
E("en", f"Customer is {ent('Buddhist', 0)}, no meat in the hamper", [("religion", ent('Buddhist', 0))], ["no meat in the hamper"])
E("en", f"Nan is {tag('Afro', 4, 'u')}-Caribbean", [("ethnic_origin", f"{tag('Afro', 4, 'u')}-Caribbean")], [])
E("en", "my email: j.ward＠example.co.uk", [("email", "j.ward＠example.co.uk")], [])
E("en", f"My husband has {comb('prostate', 2, chr(0x301))} cancer, Gleason 8", [("health", f"{comb('prostate', 2, chr(0x301))} cancer, Gleason 8")], [])

for n, (t, k) in enumerate([
    ("Bitte das Paket beim Kiosk neben der Kapelle abgeben.", ["neben der Kapelle"]),
    ("Sammelbestellung vom Sozialverband VdK Ortsverband: 40 Kalender.", ["Sozialverband VdK"]),
    ("Der Gemeinderat hat den Weihnachtsbaum für den Marktplatz bestellt, 8 Meter.", ["Gemeinderat"]),
    ("Fischstäbchen und Krabbenbrot für die Kinder.", ["Krabbenbrot"]),
    ("Mein Chef hat heute wieder seinen Rappel, ich bestelle einfach selbst.", ["seinen Rappel"]),
    ("Kalender „Heilpflanzen der Alpen“ für Oma, die gärtnert gern.", ["Heilpflanzen der Alpen"]),
    ("Lieferung ans Ärztehaus am Bahnhof, Empfang EG, Paket für die Hausverwaltung.", ["Paket für die Hausverwaltung"]),
    ("Die Kirchenglocken läuten um 12, dann bin ich zu Hause.", ["Die Kirchenglocken"]),
    ("Schokoweihnachtsmann in Zartbitter, 20 Stück für die Firma.", ["Zartbitter"]),
    ("Beruf: Pharmareferent, Ort: Ulm", ["Pharmareferent"]),
    ("Beruf: Sekretärin im Rathaus, Ort: Wels", ["Sekretärin im Rathaus"]),
    ("Das Spiel „Operation“ mit der roten Nase, für den Enkel.", ["Operation"]),
    ("Gewürzmischung „Ras el-Hanout“ und Couscous, bitte.", ["Ras el-Hanout"]),
    ("Der Weihnachtsmarkt am Stephansdom hat bis 21 Uhr offen.", ["Stephansdom"]),
    ("Pfarrgasse 4, 2. Stock, Name steht an der Klingel.", ["Pfarrgasse 4"]),
    ("Partydeko für Silvester: Luftschlangen und Konfetti.", ["Luftschlangen und Konfetti"]),
    ("Ein Puzzle mit dem Motiv „Die Erschaffung Adams“ von Michelangelo.", ["Die Erschaffung Adams"]),
    ("Unser Papagei ist in der Mauser, bitte Vitaminfutter.", ["Papagei ist in der Mauser"]),
    ("Rezeptbuch „Grüne Smoothies für Einsteiger“.", ["Grüne Smoothies"]),
    ("Bonusprogramm-Nummer 9981 2234 7712 0045, Punkte fehlen.", ["Bonusprogramm-Nummer"]),
    ("Hospiz-Förderverein bestellt Kerzen für den Benefizbasar – ich bin dort Kassenwartin.", ["Hospiz-Förderverein"]),
    ("Lieferung an die Feuerwache 3, Halle B.", ["Feuerwache 3"]),
    ("Der Messner schließt die Kirche um 18 Uhr, bis dahin kann man abgeben.", ["Der Messner"]),
    ("Stollen für die Jugendfeuerwehr, 5 Stück.", ["Jugendfeuerwehr"]),
    ("Ich hab Bock auf Raclette, bitte den großen Grill.", ["Raclette"]),
    ("Leave the parcel at the kiosk next to the chapel.", ["next to the chapel"]),
    ("Bulk order from the Royal British Legion branch: 40 calendars.", ["Royal British Legion branch"]),
    ("The parish council ordered the tree for the village green, 8 m.", ["parish council"]),
    ("Fish fingers and prawn crackers for the kids.", ["prawn crackers"]),
    ("My manager's having a meltdown again, I'll just order it myself.", ["having a meltdown"]),
    ("Calendar 'Healing Herbs of the Hedgerow' for Gran, she loves gardening.", ["Healing Herbs of the Hedgerow"]),
    ("Deliver to the medical centre by the station, reception, parcel for the landlord.", ["parcel for the landlord"]),
    ("The church bells ring at noon, I'll be home then.", ["The church bells"]),
    ("Dark chocolate Santas, 20 for the office.", ["Dark chocolate Santas"]),
    ("Occupation: Pharmaceutical sales rep, Town: Reading", ["Pharmaceutical sales rep"]),
    ("Occupation: Parish clerk at the town hall", ["Parish clerk"]),
    ("The game 'Operation' with the red nose, for my grandson.", ["Operation"]),
    ("Spice mix ras el hanout and couscous please.", ["ras el hanout"]),
    ("The Christmas market at Winchester Cathedral is open till 9.", ["Winchester Cathedral"]),
    ("Flat 4, Chapel Street, name's on the buzzer.", ["Chapel Street"]),
    ("Party supplies for New Year's Eve: streamers and confetti.", ["streamers and confetti"]),
    ("A jigsaw of 'The Creation of Adam' by Michelangelo.", ["The Creation of Adam"]),
    ("Our parrot is moulting, vitamin feed please.", ["Our parrot is moulting"]),
    ("Recipe book 'Green Smoothies for Beginners'.", ["Green Smoothies for Beginners"]),
    ("Rewards number 9981 2234 7712 0045, points missing.", ["Rewards number"]),
    ("The hospice friends' group is ordering candles for the charity bazaar – I'm their treasurer.", ["hospice friends' group"]),
    ("Deliver to Fire Station 3, bay B.", ["Fire Station 3"]),
    ("The sexton locks the church at 6, you can drop it off until then.", ["The sexton"]),
    ("Mince pies for the youth club, 5 boxes.", ["youth club"]),
    ("Fancy a fondue night, the big set please.", ["fondue night"]),
]):
    N("de" if n < 25 else "en", t, k)

C.write("redaction-heldout2.jsonl")
