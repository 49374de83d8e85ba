#!/usr/bin/env python3
"""Writes redaction-dev2.jsonl. Identifiers come from make_ids.py with a fixed seed."""
import random
from make_ids import *
from _lib import *

rng = random.Random(2026120701)
C = Corpus("dev2")
def P(lang, text, expect, keep=()): C.add(lang, "positive", text, expect, keep)
def N(lang, text, keep=()): C.add(lang, "negative", text, (), keep)
def E(lang, text, expect, keep=()): C.add(lang, "evasion", text, expect, keep)

# ---------------------------------------------------------------- identifiers
de_iban = [group4(rand_iban(rng, "DE")) for _ in range(8)]
at_iban = group4(rand_iban(rng, "AT")); ch_iban = group4(rand_iban(rng, "CH"))
gb_iban = [group4(rand_iban(rng, "GB")) for _ in range(5)]
nl_iban = group4(rand_iban(rng, "NL")); fr_iban = group4(rand_iban(rng, "FR")); ie_iban = group4(rand_iban(rng, "IE"))
visa = [make_card(rng, "visa") for _ in range(8)]
mc = [make_card(rng, "mc") for _ in range(8)]
amex = [make_card(rng, "amex") for _ in range(3)]
stid = [make_steuer(rng) for _ in range(10)]
rv = [make_rv(rng) for _ in range(10)]
ida = [make_doc(rng, "id") for _ in range(10)]
pas = [make_doc(rng, "pass") for _ in range(6)]
ssn = [make_ssn(rng) for _ in range(8)]
itin = [make_itin(rng) for _ in range(4)]
nino = [make_nino(rng) for _ in range(8)]
b_iban = [group4(bad_iban(rng, "DE")) for _ in range(4)]
b_gb = group4(bad_iban(rng, "GB"))
b_card = [bad_card(rng, "visa") for _ in range(3)] + [bad_card(rng, "mc") for _ in range(2)]
b_st = [bad_steuer(rng) for _ in range(3)]
b_doc = [bad_doc(rng, "id") for _ in range(2)]

# ================================================================ DE positive
P("de", "Lieber Weihnachtsmann, meine Tochter Lina hat Diabetes Typ 1 und wünscht sich eine Pumpentasche mit Einhörnern. Danke! Mama Sabine",
  [("health", "Diabetes Typ 1")], ["Pumpentasche mit Einhörnern"])
P("de", "liebes christkind ich wünsch mir lego und das meine mama nicht mehr so traurig ist wegen ihrer depression",
  [("health", "depression")], ["lego"])
P("de", "Oma Hilde (82) wünscht sich für den Enkel ein Fahrrad. Sie selbst hat Parkinson im Anfangsstadium und kann das Paket nicht tragen, bitte bis in den 2. Stock.",
  [("health", "Parkinson im Anfangsstadium")], ["Fahrrad", "2. Stock"])
P("de", "Kunde ruft an wg. Rücksendung, erwähnt Z.n. Bandscheiben-OP L4/L5, kann nicht heben. Abholung vereinbart.",
  [("health", "Z.n. Bandscheiben-OP L4/L5")], ["Rücksendung", "Abholung vereinbart"])
P("de", "Mein Sohn (7) hat ADHS und braucht ein Geschenk, das ihn nicht überfordert – vielleicht ein Puzzle?",
  [("health", "ADHS")], ["Puzzle"])
P("de", "Frau Krämer ist in der 28. SSW und wünscht Lieferung vor dem 20.12., sie darf nicht schwer tragen.",
  [("health", "in der 28. SSW")], ["vor dem 20.12."])
P("de", "Bitte keine Nüsse in den Adventskalender, Jonas hat eine schwere Erdnussallergie (Anaphylaxie, trägt EpiPen).",
  [("health", "schwere Erdnussallergie (Anaphylaxie, trägt EpiPen)")], ["Adventskalender"])
P("de", "Notiz Verkaufsgespräch: Herr Özdemir nimmt Metformin 1000 mg morgens und abends, fragt ob die Smartwatch den Blutzucker misst.",
  [("health", "Metformin 1000 mg morgens und abends")], ["Smartwatch"])
P("de", "Hab seit 2019 MS, schubförmig, und wünsch mir einen Rollator in Rot. Grüße aus Kassel",
  [("health", "MS, schubförmig")], ["Rollator in Rot", "Kassel"])
P("de", "Reklamation: Die Kopfhörer sind defekt. Ich bin auf dem linken Ohr seit meinem Hörsturz fast taub und brauche das Gerät dringend!",
  [("health", "auf dem linken Ohr seit meinem Hörsturz fast taub")], ["Kopfhörer sind defekt"])
P("de", "Unser Papa ist trockener Alkoholiker und feiert Weihnachten ohne Sekt, also bitte alkoholfreien Punsch ins Paket.",
  [("health", "trockener Alkoholiker")], ["alkoholfreien Punsch"])
P("de", "Diagnose bei Emma im Sommer: Zöliakie. Deshalb bitte nur glutenfreie Plätzchen schicken.",
  [("health", "Zöliakie")], ["glutenfreie Plätzchen"])
P("de", "Lieferhinweis: Bewohnerin ist dement (Alzheimer), bitte bei Nachbarin Fr. Holz klingeln.",
  [("health", "dement (Alzheimer)")], ["bei Nachbarin Fr. Holz klingeln"])
P("de", "ich hab morbus crohn und lieg grad wieder im krankenhaus, könnt ihr die bestellung ins zimmer 214 liefern?",
  [("health", "morbus crohn")], ["zimmer 214"])
P("de", "Mein Mann hatte letztes Jahr Brustkrebs – ja, Männer auch – und nimmt Tamoxifen 20 mg. Er wünscht sich ein Buch über Segeln.",
  [("health", "Brustkrebs"), ("health", "Tamoxifen 20 mg")], ["ein Buch über Segeln"])
P("de", "Gesprächsnotiz: Kundin ist HIV-positiv, möchte dass die Apothekenlieferung diskret verpackt ist.",
  [("health", "HIV-positiv")], ["diskret verpackt"])
P("de", "Die Kleine hat Neurodermitis, bitte nur Wollsocken ohne Kratzen, am besten Merino.",
  [("health", "Neurodermitis")], ["Merino"])
# religion
P("de", "Liebes Christkind, Opa ist streng katholisch und wünscht sich einen neuen Rosenkranz aus Holz.",
  [("religion", "streng katholisch"), ("religion", "Rosenkranz aus Holz")], ["Liebes Christkind"])
P("de", "Bitte nicht freitags nach Sonnenuntergang liefern, wir halten den Schabbat.",
  [("religion", "wir halten den Schabbat")], ["nicht freitags"])
P("de", "Kunde bittet um Rückruf nach 19 Uhr, er fastet im Ramadan und ist tagsüber schlapp.",
  [("religion", "fastet im Ramadan")], ["Rückruf nach 19 Uhr"])
P("de", "Für meinen Sohn eine Kippa mit Fußball-Motiv, Größe für 10-Jährige.",
  [("religion", "Kippa mit Fußball-Motiv")], ["Größe für 10-Jährige"])
P("de", "Wir sind Zeugen Jehovas und feiern keinen Geburtstag, also bitte keine Geburtstagskarte beilegen.",
  [("religion", "Zeugen Jehovas")], ["Geburtstagskarte"])
P("de", "Konfession: evangelisch-lutherisch", [("religion", "evangelisch-lutherisch")], [])
P("de", "Meine Frau trägt Kopftuch und möchte bei der Anprobe eine Verkäuferin, keinen Verkäufer.",
  [("religion", "trägt Kopftuch")], ["Anprobe"])
P("de", "ich bin aus der kirche ausgetreten aber meine oma ist neuapostolisch, bitte das gesangbuch an sie",
  [("religion", "neuapostolisch"), ("religion", "gesangbuch")], [])
P("de", "Konfession: römisch-katholisch", [("religion", "römisch-katholisch")], [])
# ethnic
P("de", "Die Familie sind Sinti aus Hildesheim, Kontakt läuft über die Tochter.",
  [("ethnic_origin", "Sinti")], ["Hildesheim"])
P("de", "Notiz: Kunde ist Kurde, spricht wenig Deutsch, Termin mit Dolmetscher für Kurmandschi.",
  [("ethnic_origin", "Kurde"), ("ethnic_origin", "Dolmetscher für Kurmandschi")], ["Termin"])
P("de", "Als Roma-Familie wurden wir im Laden schief angeschaut, das war das letzte Mal!",
  [("ethnic_origin", "Roma-Familie")], ["im Laden"])
P("de", "Herr Nguyen, vietnamesischer Abstammung, bittet um Rechnung auf Englisch.",
  [("ethnic_origin", "vietnamesischer Abstammung")], ["Rechnung auf Englisch"])
# political
P("de", "Mein Vater ist seit 40 Jahren in der SPD und wünscht sich eine Willy-Brandt-Biografie.",
  [("political_opinion", "in der SPD")], ["Willy-Brandt-Biografie"])
P("de", "Anrufer sehr aufgebracht, sagt er wählt jetzt die AfD, weil die Lieferung zu spät kam.",
  [("political_opinion", "wählt jetzt die AfD")], ["Lieferung zu spät"])
P("de", "Tante Gerda, überzeugte Grünen-Wählerin, will nur Spielzeug ohne Plastik.",
  [("political_opinion", "überzeugte Grünen-Wählerin")], ["ohne Plastik"])
P("de", "bin bei der Linken aktiv und brauch nen Megafon für die Demo lol",
  [("political_opinion", "bei der Linken aktiv")], ["Megafon"])
P("de", "Beruf: FDP-Kreisvorsitzender", [("political_opinion", "FDP-Kreisvorsitzender")], [])
# trade union
P("de", "Ich bin Verdi-Mitglied und wir streiken am Montag, deshalb bitte Zustellung erst Dienstag.",
  [("trade_union", "Verdi-Mitglied")], ["Zustellung erst Dienstag"])
P("de", "Mein Mann ist Vertrauensmann der IG Metall bei Bosch und wünscht sich ein Werkzeugset.",
  [("trade_union", "Vertrauensmann der IG Metall")], ["bei Bosch", "Werkzeugset"])
P("de", "Lehrerin, GEW-Mitglied, fragt nach Klassensatz Wörterbücher mit Rabatt.",
  [("trade_union", "GEW-Mitglied")], ["Klassensatz Wörterbücher"])
P("de", "Er ist in der EVG und organisiert den Warnstreik am Hauptbahnhof.",
  [("trade_union", "in der EVG")], ["Hauptbahnhof"])
# sex life
P("de", "Mein Sohn ist schwul und bringt dieses Jahr seinen Freund Tim mit, bitte zwei Tassen mit Namen.",
  [("sex_life", "schwul")], ["zwei Tassen mit Namen"])
P("de", "Kundin erzählt, sie lebt lesbisch mit ihrer Partnerin in Köln, Bestellung auf beide Namen.",
  [("sex_life", "lebt lesbisch")], ["Köln"])
P("de", "Anmerkung: Paar sucht Geschenk für Swingerclub-Abend, diskrete Verpackung gewünscht.",
  [("sex_life", "Swingerclub-Abend")], ["diskrete Verpackung"])
P("de", "Ich bin bi und mein Christkindwunsch ist ein Regenbogen-Pulli.",
  [("sex_life", "Ich bin bi")], ["Regenbogen-Pulli"])
# genetic
P("de", "Bei meiner Schwester wurde eine BRCA1-Mutation festgestellt, deshalb bitte den Termin verschieben.",
  [("genetic", "BRCA1-Mutation")], ["Termin verschieben"])
P("de", "Laut Gentest bin ich Trägerin von Faktor-V-Leiden, das muss in die Akte bei der Kur.",
  [("genetic", "Trägerin von Faktor-V-Leiden")], ["Kur"])
P("de", "Mein Vater hat die Anlage für Chorea Huntington geerbt, wir wissen es seit dem Test im März.",
  [("genetic", "die Anlage für Chorea Huntington")], ["im März"])
P("de", "Das DNA-Ergebnis von 23andMe sagt 40 % Risiko für Alzheimer, schreibt der Kunde im Chat.",
  [("genetic", "DNA-Ergebnis von 23andMe sagt 40 % Risiko für Alzheimer")], ["im Chat"])
# biometric
P("de", "Bitte meinen Fingerabdruck-Scan aus dem Kundenkonto löschen, den habe ich beim Terminal hinterlegt.",
  [("biometric", "Fingerabdruck-Scan")], ["Kundenkonto"])
P("de", "Der Mitarbeiter hat ohne zu fragen ein Foto für die Gesichtserkennung gemacht und gespeichert.",
  [("biometric", "Foto für die Gesichtserkennung")], [])
P("de", "Wir speichern Ihren Iris-Scan nur für den Zutritt zum Rechenzentrum.",
  [("biometric", "Iris-Scan")], ["Rechenzentrum"])
P("de", "Einverständnis Stimmprofil für Telefon-Login: ja", [("biometric", "Stimmprofil")], [])
# identifiers
P("de", f"Bitte den Betrag auf mein Konto überweisen: {de_iban[0]}, Kontoinhaber Lukas Brandt.",
  [("iban", de_iban[0])], ["Kontoinhaber"])
P("de", f"IBAN für die Erstattung: {de_iban[1].replace(' ', '')} (Sparkasse)", [("iban", de_iban[1].replace(' ', ''))], ["Sparkasse"])
P("de", f"meine iban is {at_iban} bitte zurückbuchen", [("iban", at_iban)], [])
P("de", f"Grüezi, Rückzahlung bitte auf {ch_iban}, merci vielmal.", [("iban", ch_iban)], ["merci vielmal"])
P("de", f"Zahlung per Kreditkarte: {fmt_card(visa[0])}, gültig bis 09/28, Prüfnummer 413.",
  [("card", fmt_card(visa[0])), ("card", "413")], ["gültig bis"])
P("de", f"Karte {visa[1]} cvc 872 bitte belasten", [("card", f"{visa[1]} cvc 872")], [])
P("de", f"Kunde diktiert Mastercard {fmt_card(mc[0], '-')}, Ablauf 11/27.", [("card", fmt_card(mc[0], '-'))], [])
P("de", f"Meine Steuer-ID ist {fmt_steuer(stid[0])}, bitte auf der Spendenquittung angeben.",
  [("tax_id", fmt_steuer(stid[0]))], ["Spendenquittung"])
P("de", f"Steueridentifikationsnummer: {stid[1]}", [("tax_id", stid[1])], [])
P("de", f"Für die Lohnabrechnung: IdNr {stid[2]}, Steuerklasse 3.", [("tax_id", stid[2])], ["Steuerklasse 3"])
P("de", f"Rentenversicherungsnummer {fmt_rv(rv[0])} – bitte an die Personalabteilung.",
  [("social_security", fmt_rv(rv[0]))], ["Personalabteilung"])
P("de", f"SV-Nr.: {rv[1]}", [("social_security", rv[1])], [])
P("de", f"Meine Sozialversicherungsnummer ist {fmt_rv(rv[2])}, brauchen Sie die für den Minijob?",
  [("social_security", fmt_rv(rv[2]))], ["Minijob"])
P("de", f"Ausweisnummer {ida[0]}, ausgestellt in Leipzig.", [("id_card", ida[0])], ["Leipzig"])
P("de", f"Personalausweis-Nr. {ida[1][:9]} (für die Altersprüfung)", [("id_card", ida[1][:9])], ["Altersprüfung"])
P("de", f"Perso: {ida[2]}", [("id_card", ida[2])], [])
P("de", f"Reisepassnummer für die Buchung: {pas[0]}, Name wie im Pass: Jana Voigt.",
  [("passport", pas[0])], ["Buchung"])
P("de", f"Passnr {pas[1][:9]} gültig bis 2031", [("passport", pas[1][:9])], ["2031"])
P("de", "Rückruf bitte unter 0152 28817 436, ab 17 Uhr.", [("phone", "0152 28817 436")], ["ab 17 Uhr"])
P("de", "Tel. +49 30 23125 612 (Festnetz, AB läuft)", [("phone", "+49 30 23125 612")], ["AB läuft"])
P("de", "Wenn niemand öffnet: Handy 0176/4412 0937 anrufen.", [("phone", "0176/4412 0937")], ["niemand öffnet"])
P("de", "Schickt die Rechnung an ulla.meisner@example.de und nicht an die Firma.",
  [("email", "ulla.meisner@example.de")], ["Rechnung"])
P("de", "E-Mail: k.yilmaz84@posteo.example", [("email", "k.yilmaz84@posteo.example")], [])
# mixed
P("de", f"Wunschzettel von Oma Ruth: Puzzle 1000 Teile. Bezahlung von meinem Konto {de_iban[2]}. Ich hab Grauen Star und seh schlecht, bitte große Schrift. Rückruf 0151 23456 780.",
  [("iban", de_iban[2]), ("health", "Grauen Star"), ("phone", "0151 23456 780")], ["Puzzle 1000 Teile", "große Schrift"])
P("de", f"Neukunde: Herr Schulte, Dachdecker, IG BAU, Steuer-ID {stid[3]}, zahlt mit {fmt_card(mc[1])}.",
  [("trade_union", "IG BAU"), ("tax_id", stid[3]), ("card", fmt_card(mc[1]))], ["Dachdecker"])
P("de", f"Beschwerde von Fr. Adeyemi (Reisepass {pas[2]}): Ihr Fahrer hat sie wegen ihrer Hautfarbe beleidigt, sie ist Deutsche nigerianischer Herkunft.",
  [("passport", pas[2]), ("ethnic_origin", "nigerianischer Herkunft")], ["Fahrer"])
P("de", f"Hallo, ich bin Epileptikerin und brauch ne Nachtlicht-Lampe ohne Flackern. Mail: nele_b@example.net",
  [("health", "Epileptikerin"), ("email", "nele_b@example.net")], ["Nachtlicht-Lampe"])
P("de", "Liebes Christkind, der Papa hat Rheuma in den Händen und kann keine Flaschen aufmachen, bitte einen elektrischen Öffner.",
  [("health", "Rheuma in den Händen")], ["elektrischen Öffner"])
P("de", "Servus, i hob a Herzschwäche (NYHA II) und brauch die Lieferung ebenerdig.",
  [("health", "Herzschwäche (NYHA II)")], ["ebenerdig"])
P("de", "Kundin berichtet von Long Covid mit Fatigue seit 2022, bittet um flexible Lieferzeiten.",
  [("health", "Long Covid mit Fatigue seit 2022")], ["flexible Lieferzeiten"])
P("de", "Unser Sohn ist Autist und mag keine lauten Spielsachen – bitte nichts mit Sirene.",
  [("health", "Autist")], ["nichts mit Sirene"])

# more DE positives (multi-span, forms)
P("de", f"Name: Petra Lindner, Stadt: Gera, Perso-Nr. {ida[3]}, Tel. 0371 2389 4410", [("id_card", ida[3]), ("phone", "0371 2389 4410")], ["Gera"])
P("de", f"Für den Mietvertrag: Ausweis {ida[4]}, SV-Nummer {fmt_rv(rv[4])}, Steuer-ID {stid[5]}.",
  [("id_card", ida[4]), ("social_security", fmt_rv(rv[4])), ("tax_id", stid[5])], ["Mietvertrag"])
P("de", f"Visumantrag: Reisepass {pas[3]}, Personalausweis {ida[5]}, E-Mail fam.hoxha@example.com",
  [("passport", pas[3]), ("id_card", ida[5]), ("email", "fam.hoxha@example.com")], ["Visumantrag"])
P("de", f"Hotelcheck-in Notiz: Gast zeigte Pass {pas[4][:9]}, zahlt mit Visa {fmt_card(visa[3])}.",
  [("passport", pas[4][:9]), ("card", fmt_card(visa[3]))], ["Hotelcheck-in"])
P("de", f"neuer mitarbeiter: steuer-id {fmt_steuer(stid[6])}, rv-nr {rv[5]}, iban {de_iban[6]}, handy 0160 98712 334",
  [("tax_id", fmt_steuer(stid[6])), ("social_security", rv[5]), ("iban", de_iban[6]), ("phone", "0160 98712 334")], ["neuer mitarbeiter"])
P("de", f"Sozialversicherungsausweis verloren, Nummer war {fmt_rv(rv[6])}. Bitte neuen schicken an jens.ohlig@example.org.",
  [("social_security", fmt_rv(rv[6])), ("email", "jens.ohlig@example.org")], ["Sozialversicherungsausweis verloren"])
P("de", f"Österreich: meine Sozialversicherungsnummer steht nicht auf der e-card, aber meine deutsche SV-Nr. ist {rv[7]}.",
  [("social_security", rv[7])], ["e-card"])
P("de", f"Grenzgänger, Lohnsteuer: Steuer-ID {stid[7]}, Ausweis {ida[6][:9]}.", [("tax_id", stid[7]), ("id_card", ida[6][:9])], ["Grenzgänger"])
P("de", f"Pass für die Flugbuchung: {pas[5]} – Kind reist mit, hat Epilepsie, braucht Sitz am Gang.",
  [("passport", pas[5]), ("health", "hat Epilepsie")], ["Sitz am Gang"])
pas6 = make_doc(rng, 'pass')
P("de", f"Reisepass-Nummer {pas6}, Fr. Ahmadi, fliegt zur Hadsch nach Mekka.",
  [("passport", pas6), ("religion", "fliegt zur Hadsch nach Mekka")], ["Fr. Ahmadi"])
P("de", f"Mitglied bei ver.di und in der SPD-Fraktion im Stadtrat, Rechnung an r.kaiser@example.de.",
  [("trade_union", "Mitglied bei ver.di"), ("political_opinion", "in der SPD-Fraktion im Stadtrat"), ("email", "r.kaiser@example.de")], ["Rechnung"])
P("de", "Der Kollege ist bei der NGG und hat Angst um seinen Job, weil er CDU-Mitglied ist und die Chefin nicht.",
  [("trade_union", "bei der NGG"), ("political_opinion", "CDU-Mitglied")], ["Chefin"])
P("de", "Kundin ist türkischstämmig und transsexuell, wünscht Anrede ohne Herr/Frau.",
  [("ethnic_origin", "türkischstämmig"), ("sex_life", "transsexuell")], ["Anrede ohne Herr/Frau"])
P("de", "Er hat einen Freund und lebt offen homosexuell, die Eltern wissen nix, bitte keine Post nach Hause!",
  [("sex_life", "offen homosexuell")], ["keine Post nach Hause"])
P("de", "Vaterschaftstest per DNA hat ergeben, dass Leon nicht sein Sohn ist – Unterhalt wird gestoppt.",
  [("genetic", "Vaterschaftstest per DNA hat ergeben, dass Leon nicht sein Sohn ist")], ["Unterhalt"])
P("de", "Pränataltest (NIPT): Trisomie 21 beim Baby, Geburt im März, wir brauchen trotzdem den Kinderwagen.",
  [("genetic", "Pränataltest (NIPT): Trisomie 21 beim Baby"), ("health", "Geburt im März")], ["Kinderwagen"])
P("de", "Erbkrankheit in der Familie: Mukoviszidose-Genträger beide Eltern, steht im Aufnahmebogen.",
  [("genetic", "Mukoviszidose-Genträger beide Eltern")], ["Aufnahmebogen"])
P("de", "Zutritt nur mit Handvenen-Scan, die Daten liegen beim Dienstleister.",
  [("biometric", "Handvenen-Scan")], ["Dienstleister"])
P("de", "Die App hat mein Gesichtsprofil (Face-ID-Vorlage) an den Server geschickt, das will ich nicht!",
  [("biometric", "Gesichtsprofil (Face-ID-Vorlage)")], ["App"])
P("de", "Bitte meine Fingerabdrücke aus dem Zeiterfassungssystem löschen, bin nicht mehr im Betrieb.",
  [("biometric", "Fingerabdrücke")], ["Zeiterfassungssystem"])
P("de", f"Ich zahl mit meiner Amex {fmt_card(amex[0])} – Sicherheitscode 4471.", [("card", fmt_card(amex[0])), ("card", "4471")], [])
P("de", "Festnetz: 089 / 2180 7733, mobil: 0157 3349 2210", [("phone", "089 / 2180 7733"), ("phone", "0157 3349 2210")], [])
P("de", "Bewohner ist Sinto und gehörlos, bitte per SMS an 0172 5548 093 melden.",
  [("ethnic_origin", "Sinto"), ("health", "gehörlos"), ("phone", "0172 5548 093")], ["per SMS"])
P("de", "Beschwerde: Hr. Jovanović, serbischer Herkunft, wurde vom Türsteher abgewiesen.",
  [("ethnic_origin", "serbischer Herkunft")], ["Türsteher"])
P("de", "Wählt seit Jahren die Grünen, ist aber mit der Ampel fertig – Kunde droht Abo-Kündigung.",
  [("political_opinion", "Wählt seit Jahren die Grünen")], ["Abo-Kündigung"])
P("de", "Bei der GdP organisiert, Schichtdienst, Lieferung an die Wache geht nicht.",
  [("trade_union", "Bei der GdP organisiert")], ["Schichtdienst"])

# ================================================================ DE evasion
E("de", f"Meine Tochter hat {ent('Diabetes', 4)} Typ 1 und wünscht sich Sticker.", [("health", f"{ent('Diabetes', 4)} Typ 1")], ["Sticker"])
E("de", f"Der Opa hat {tag('Epilepsie', 3)} und darf nicht allein baden.", [("health", tag('Epilepsie', 3))], [])
E("de", f"Diagnose: {shy('Depressionen', 3)}, daher Rückruf nur vormittags.", [("health", shy('Depressionen', 3))], ["Rückruf nur vormittags"])
E("de", f"Mein Bruder hat {comb('Asthma', 1)} und braucht einen Luftreiniger.", [("health", comb('Asthma', 1))], ["Luftreiniger"])
E("de", f"sie hat {sep('krebs', '.')} und wünscht sich eine Mütze", [("health", sep('krebs', '.'))], ["Mütze"])
E("de", f"Papa hat {sep('Migräne', '-')} bitte leise Klingel", [("health", sep('Migräne', '-'))], ["leise Klingel"])
E("de", f"Bin {sep('schwul', ' ')} und such ein Geschenk für meinen Mann", [("sex_life", sep('schwul', ' '))], [])
E("de", f"Oma ist {hexent('katholisch', 0)} und will eine Krippe.", [("religion", hexent('katholisch', 0))], ["Krippe"])
E("de", f"Er ist Mitglied der {wrap('IG Metall', 3)} und kommt nach dem Streik.", [("trade_union", f"{wrap('IG Metall', 3)}")], [])
E("de", f"Vermerk: {wrap('BRCA2', 2)}-positiv, Vorsorge jährlich", [("genetic", f"{wrap('BRCA2', 2)}-positiv")], [])
E("de", f"Der Kunde wählt die {sep('AfD', '.')} und schimpft.", [("political_opinion", f"die {sep('AfD', '.')}")], [])
de_iban_o = next(x for x in (group4(rand_iban(rng, "DE")) for _ in range(100)) if x[4:].count("0") >= 3)
E("de", f"IBAN {de_iban_o[:4] + de_iban_o[4:].replace('0', 'O', 3)} für die Rückzahlung", [("iban", de_iban_o[:4] + de_iban_o[4:].replace('0', 'O', 3))], ["Rückzahlung"])
E("de", f"Konto: {de_iban[4].replace(' ', '&nbsp;')}", [("iban", de_iban[4].replace(' ', '&nbsp;'))], [])
E("de", f"IBAN: {'/'.join(de_iban[5].split(' '))}", [("iban", '/'.join(de_iban[5].split(' ')))], [])
E("de", f"Karte: {fmt_card(visa[2], '/')}", [("card", fmt_card(visa[2], '/'))], [])
E("de", f"kreditkarte {fmt_card(mc[2], '.')} bitte belasten", [("card", fmt_card(mc[2], '.'))], [])
E("de", f"Steuer-ID {fmt_steuer(stid[4]).replace(' ', '&nbsp;')} für die Spendenquittung", [("tax_id", fmt_steuer(stid[4]).replace(' ', '&nbsp;'))], ["Spendenquittung"])
E("de", f"Meine SV-Nummer: {'-'.join(fmt_rv(rv[3]).split(' '))}", [("social_security", '-'.join(fmt_rv(rv[3]).split(' ')))], [])
E("de", "Ruf an: null eins fünf zwei, zwei acht acht eins sieben, vier drei sechs", [("phone", "null eins fünf zwei, zwei acht acht eins sieben, vier drei sechs")], [])
E("de", "mail an tobias punkt reuter at example punkt de", [("email", "tobias punkt reuter at example punkt de")], [])
E("de", "Kontakt: m.arslan(at)example(dot)org", [("email", "m.arslan(at)example(dot)org")], [])
E("de", f"Einwilligung zur Speicherung der {ent('biometrischen', 2)} Daten widerrufen!", [("biometric", f"{ent('biometrischen', 2)} Daten")], [])
E("de", f"Das Kind hat {tag('AD', 1, 'i')}HS, bitte Geduld am Telefon.", [("health", f"{tag('AD', 1, 'i')}HS")], ["Geduld am Telefon"])
E("de", f"Familie {sep('Roma', '.')} aus Duisburg bittet um Rückruf", [("ethnic_origin", sep('Roma', '.'))], ["Duisburg"])

# ================================================================ DE negative
for t, k in [
    ("Meine Mutter arbeitet als Köchin im Krankenhaus und wünscht sich ein Messerset.", ["Köchin im Krankenhaus"]),
    ("Firmenkunde AOK Niedersachsen bestellt 40 Kalender mit Logo.", ["AOK Niedersachsen"]),
    ("Lieferung an die Apotheke am Markt, Hintereingang benutzen.", ["Apotheke am Markt"]),
    ("Paket bitte neben der Kirche abgeben, das gelbe Haus mit den Rosen.", ["neben der Kirche"]),
    ("Sammelbestellung für das Verdi-Bezirksbüro Hannover, 12 Kaffeetassen.", ["Verdi-Bezirksbüro Hannover"]),
    ("Die CDU-Geschäftsstelle in Fulda möchte ein Angebot für 200 Kugelschreiber.", ["CDU-Geschäftsstelle"]),
    ("Wunschzettel: Tomatensamen Sorte Roma und ein Gewächshaus.", ["Sorte Roma"]),
    ("Opa will eine Kreuzfahrt auf der MS Europa zu Weihnachten.", ["MS Europa"]),
    ("Für die Tochter das Buch „ADHS verstehen – ein Ratgeber für Lehrer“, sie ist Referendarin.", ["ADHS verstehen"]),
    ("Unser Hund hat Diabetes und bekommt Spezialfutter, bitte das große Paket.", ["Hund hat Diabetes"]),
    ("ich krieg nen Herzinfarkt, die Lieferung ist schon wieder zu spät!!!", ["Herzinfarkt"]),
    ("Sternzeichen: Krebs. Wünscht sich einen Horoskop-Kalender.", ["Sternzeichen: Krebs"]),
    ("Beruf: Krankenpfleger", ["Krankenpfleger"]),
    ("Beruf: Ärztin in der Psychiatrie", ["Ärztin in der Psychiatrie"]),
    ("Stadt: Bad Kissingen", ["Bad Kissingen"]),
    ("Handy mit Fingerabdrucksensor, 128 GB, schwarz – bitte als Geschenk verpacken.", ["Fingerabdrucksensor"]),
    ("Für den Neffen ein DNA-Modellbausatz aus dem Museumsshop.", ["DNA-Modellbausatz"]),
    ("Bestellnummer 4017 2231 8890 5512, bitte Status prüfen.", ["Bestellnummer"]),
    (f"Rechnung Nr. {b_st[0]} vom 03.11.2026 ist noch offen.", ["Rechnung Nr."]),
    ("Sendungsnummer 00340434161094027318, Paket hängt seit Tagen im Verteilzentrum.", ["Sendungsnummer"]),
    (f"Unsere USt-IdNr. lautet DE 813 904 562, Steuernummer 21/815/08150.", ["USt-IdNr.", "Steuernummer"]),
    (f"Kundennummer {b_card[0]} – Treuekarte funktioniert nicht an der Kasse.", ["Treuekarte"]),
    ("Geburtsdatum 14.02.1987, Kundin seit 2015.", ["Geburtsdatum"]),
    ("Der Laden am Karl-Marx-Platz hat schon geschlossen, bitte in die Packstation 118.", ["Karl-Marx-Platz", "Packstation 118"]),
    ("Wir lieben die Grünen Bohnen aus dem Glas, bitte 6 Stück.", ["Grünen Bohnen"]),
    ("Black-Friday-Angebot: Heizdecke „Rheuma-Wärme“ nur 29,99 €.", ["Rheuma-Wärme"]),
    ("Christkind, ich wünsch mir ein Arztköfferchen und ein Stethoskop zum Spielen.", ["Arztköfferchen"]),
    ("Die Katze war beim Tierarzt, Verdacht auf Schilddrüsenüberfunktion, Futter umstellen.", ["Katze war beim Tierarzt"]),
    ("Bitte an das Gemeindehaus der evangelischen Kirchengemeinde liefern, die veranstalten den Basar.", ["Gemeindehaus der evangelischen Kirchengemeinde"]),
    ("Weihnachtsmarkt am Dom: Stand 14, Glühwein und Krippenfiguren.", ["Weihnachtsmarkt am Dom", "Krippenfiguren"]),
    ("Der Film „Die Linke Hand Gottes“ auf DVD bitte.", ["Die Linke Hand Gottes"]),
    ("Mein Chef ist so ein Psycho, aber egal, ich brauch nur den Drucker.", ["Psycho"]),
    ("das war ja krank gut, der Lieferant war in 10 min da", ["krank gut"]),
    ("Stadt: St. Pölten", ["St. Pölten"]),
    ("Beruf: Betriebswirtin, Stadt: Chemnitz", ["Betriebswirtin"]),
    ("Für Oma ein Kreuzworträtsel-Buch und Kekse vom Bäcker Moslehner.", ["Kreuzworträtsel-Buch"]),
    ("Kinderbuch „Der kleine Drache Kokosnuss und der Zauberer“ – bitte Hardcover.", ["Drache Kokosnuss"]),
    ("Lieferung an: IG Metall Verwaltungsstelle, Am Hafen 3, Warenannahme 8–12 Uhr.", ["IG Metall Verwaltungsstelle"]),
    ("Tracking: JJD0003900073825451 (DHL), bitte an Nachbarn.", ["JJD0003900073825451"]),
    ("Artikel 912-21-4410 ist ausverkauft, Alternativvorschlag senden.", ["Artikel 912-21-4410"]),
    (f"IBAN-Feld war falsch: {b_iban[0]}, Kundin schickt die richtige per Post.", ["IBAN-Feld war falsch"]),
    ("Charge L2306-118, Mindesthaltbarkeit 05/2027.", ["Charge L2306-118"]),
    ("Ich wünsch mir ein Kostüm als Krankenschwester für Fasching.", ["Kostüm als Krankenschwester"]),
    ("Sushi-Platte mit Tempura und Miso-Suppe für 4 Personen.", ["Miso-Suppe"]),
    ("Die Fernsehserie „Charité“ auf Blu-ray als Geschenk für meinen Mann.", ["Charité"]),
    ("Paket für den Pfarrhof, Frau Meindl nimmt an.", ["Pfarrhof"]),
    ("Zimmer 302, Hotel Krone, Anreise 22.12.", ["Hotel Krone"]),
    ("Stadt: Schwäbisch Gmünd, Beruf: Physiotherapeut", ["Physiotherapeut"]),
    ("Bitte ein Puzzle mit dem Kölner Dom und eins mit der Blauen Moschee in Istanbul.", ["Blauen Moschee in Istanbul"]),
    ("Ich bin total süchtig nach diesen Lebkuchen, bitte drei Packungen!", ["süchtig nach diesen Lebkuchen"]),
    ("Die Feier war der Wahnsinn, bitte nochmal 20 Flaschen Sekt für Silvester.", ["20 Flaschen Sekt"]),
    ("Vertrag Nr. 2026/11/0457-B, Laufzeit 24 Monate.", ["Vertrag Nr."]),
    ("Termin am 29.02.2028 um 10:30 beim Kundendienst.", ["Kundendienst"]),
    ("Auftrag 51 004 221 798 bitte stornieren.", ["Auftrag"]),
    ("Grüezi, d Lieferig söll bi de Migros abgäh wärde, merci.", ["Migros"]),
    ("Der Fitnesstracker misst Puls und Schlaf – das wünscht sich Papa.", ["Fitnesstracker misst Puls"]),
    ("Blutorangen und Blutwurst vom Metzger, bitte gekühlt.", ["Blutwurst"]),
    ("Wir brauchen 30 Warnwesten für den Betriebsausflug der Firma Rot-Kreuz-Logistik GmbH.", ["Rot-Kreuz-Logistik GmbH"]),
    ("Das Gesundheitsamt als Kunde: Rechnung an die Poststelle.", ["Gesundheitsamt"]),
    ("Kunde fragt, ob der Rollator auch für Tiere geht – er meint den Hundebuggy.", ["Hundebuggy"]),
    ("Geschenk für die Nachbarin: Kochbuch „Halal kochen leicht gemacht“.", ["Halal kochen leicht gemacht"]),
    ("Mein Mann ist ein Sturkopf wie ein Bayern-Fan, aber er mag Socken.", ["Bayern-Fan"]),
    ("Die Schule St. Marien bestellt Bastelmaterial für die Adventsfeier.", ["Schule St. Marien"]),
    ("Beruf: Zahnarzthelferin, Stadt: Linz", ["Zahnarzthelferin"]),
    ("Hallo Weihnachtsmann, ich möchte einen Roboter, der Fingerabdrücke erkennt, wie im Krimi!", ["Roboter"]),
    (f"Personalnummer {b_doc[0]} – Zugang fürs Lager sperren.", ["Personalnummer"]),
    ("Telefonnummer vom Kundendienst steht auf der Packung, die haben wir nicht.", ["Telefonnummer vom Kundendienst"]),
    ("Der Kurier hat das Paket in die Mülltonne gelegt, das ist doch krank!", ["Mülltonne"]),
    ("Laut Wetterbericht wird es stürmisch, bitte die Lieferung in die Garage.", ["Garage"]),
    ("Ich bin Verdi-Fan – also Giuseppe Verdi, die Oper-DVD Box bitte.", ["Giuseppe Verdi"]),
    ("Bestellung für die Praxis Dr. Wendt: 3 Kartons Einmalhandschuhe.", ["Praxis Dr. Wendt"]),
    ("Kalender 2027 „Die schönsten Synagogen Europas“ für die Bibliothek.", ["Die schönsten Synagogen Europas"]),
    ("Gutscheincode XMAS-2026-4471 wird nicht angenommen.", ["XMAS-2026-4471"]),
    ("Bitte Rückruf an die Zentrale, Durchwahl -200.", ["Durchwahl -200"]),
    (f"Kartennummer der Bonuskarte: {b_card[3]}", ["Bonuskarte"]),
]:
    N("de", t, k)

ida7, pas7 = make_doc(rng, "id"), make_doc(rng, "pass")
E("de", f"Ausweis: {' '.join(ida7)}", [("id_card", ' '.join(ida7))], [])
E("de", f"Reisepass {pas7[:4]}&nbsp;{pas7[4:]} bitte ins Buchungssystem", [("passport", f"{pas7[:4]}&nbsp;{pas7[4:]}")], ["Buchungssystem"])
E("de", f"wir sind ein {sep('lesbisches', '-')} Paar und wünschen uns ein Doppelbett", [("sex_life", f"{sep('lesbisches', '-')} Paar")], ["Doppelbett"])
E("de", f"Mein Kind hat {hexent('Autismus', 1)}, bitte kein Klingeln.", [("health", hexent('Autismus', 1))], ["kein Klingeln"])
E("de", f"Vermerk: {comb('Schizophrenie', 7, chr(0x308))}, Betreuer kümmert sich um Post.", [("health", comb('Schizophrenie', 7, chr(0x308)))], ["Betreuer"])
E("de", f"sie ist {shy('muslimisch', 4)} und trägt {tag('Kopf', 4, 'em')}tuch", [("religion", shy('muslimisch', 4)), ("religion", f"trägt {tag('Kopf', 4, 'em')}tuch")], [])
E("de", f"Karte {visa[4][:8]}.{visa[4][8:]} CVC 3 1 9", [("card", f"{visa[4][:8]}.{visa[4][8:]} CVC 3 1 9")], [])
E("de", f"SV-Nr {fmt_rv(rv[8]).replace(' ', '&nbsp;')}", [("social_security", fmt_rv(rv[8]).replace(' ', '&nbsp;'))], [])

for t, k in [
    ("Stadt: Regensburg, Beruf: Altenpflegerin", ["Altenpflegerin"]),
    ("Beruf: Buchhändler, Stadt: Graz", ["Buchhändler"]),
    ("Firmenkunde: Techniker Krankenkasse, 500 USB-Sticks mit Aufdruck.", ["Techniker Krankenkasse"]),
    ("Bestellung Diakonie-Werkstatt Hof: 20 Holzkisten.", ["Diakonie-Werkstatt Hof"]),
    ("Die Caritas-Sozialstation möchte ihre Rechnung per Post.", ["Caritas-Sozialstation"]),
    ("Christkind, bitte ein Playmobil-Krankenhaus mit Hubschrauber!", ["Playmobil-Krankenhaus"]),
    ("Papa wünscht sich das Brettspiel „Pandemie“.", ["Pandemie"]),
    ("Lieferadresse: Klinikum Nord, Haus C, Cafeteria – ich arbeite da an der Kasse.", ["Klinikum Nord", "an der Kasse"]),
    ("Ich bin heute total depri wegen dem Wetter, aber egal, wo bleibt mein Paket?", ["wegen dem Wetter"]),
    ("Der Drucker ist blind für Farbe Gelb, Garantiefall.", ["Garantiefall"]),
    ("Zwei Karten für „Jesus Christ Superstar“ im Musical Dome.", ["Jesus Christ Superstar"]),
    ("Osterhase aus Schokolade und ein Nikolaus aus Marzipan, bitte.", ["Nikolaus aus Marzipan"]),
    ("Wir brauchen einen Adventskranz mit vier roten Kerzen.", ["Adventskranz"]),
    ("Die Straße heißt Judengasse, Hausnummer 7, bitte nicht verwechseln mit Nr. 17.", ["Judengasse"]),
    ("Fahrt zum Parteitag? Nein, zum Pferdetag in Verden, Transportbox gesucht.", ["Pferdetag in Verden"]),
    ("Sternzeichen Zwilling, Aszendent Waage – das soll auf die Tasse.", ["Sternzeichen Zwilling"]),
    ("Der Streik bei der Bahn hat meine Lieferung verzögert, total ärgerlich.", ["Streik bei der Bahn"]),
    ("Bitte nicht an die Gewerkschaftsstraße 12 liefern, das ist die alte Adresse.", ["Gewerkschaftsstraße 12"]),
    ("Unser Pferd hat Hufrehe, brauchen Hufschuhe Größe 3.", ["Hufrehe"]),
    ("Wellensittich Hansi ist blind auf einem Auge, Vogelkäfig mit Rampe gesucht.", ["Wellensittich Hansi"]),
    ("Gesichtscreme mit Hyaluron und eine Handcreme für Oma.", ["Gesichtscreme"]),
    ("Das Schloss mit Zahlencode hat sich verklemmt, Code war 4471.", ["Schloss mit Zahlencode"]),
    (f"Rechnungs-Nr. RE-{b_st[1]} bitte mit Skonto.", ["Skonto"]),
    (f"Falsche IBAN im Formular: {b_iban[1]} – bitte Kunden anrufen.", ["Falsche IBAN im Formular"]),
    ("Paketshop-Code 7731 9902 4415 8826, läuft am Freitag ab.", ["Paketshop-Code"]),
    ("Zählernummer 1ESY1160523817, Ablesung am 02.01.", ["Zählernummer"]),
    ("Kundennummer 88-120-4471, Anrede Herr Dr. Sommer.", ["Kundennummer"]),
    ("Lotto-Quittung 13 21 34 41 45 49, Superzahl 7 – im Portemonnaie gelassen.", ["Lotto-Quittung"]),
    ("Gewicht 2,4 kg, Maße 40 x 30 x 20 cm, Versand als Päckchen.", ["Päckchen"]),
    ("Die Sektion Alpenverein Bozen bestellt Karabiner.", ["Alpenverein Bozen"]),
    ("Geschenk für den Schwiegersohn: Buch „Die Geschichte der Arbeiterbewegung“.", ["Die Geschichte der Arbeiterbewegung"]),
    ("Ich bin kein Fan von Weihnachtsmusik, bitte Gutschein statt CD.", ["Gutschein statt CD"]),
    ("Der Nachbar ist Schwabe und redet komisch, aber er nimmt Pakete an.", ["nimmt Pakete an"]),
    ("Döner-Gutschein für den Azubi, 10 Stück.", ["Döner-Gutschein"]),
    ("Wunschzettel von Mia (6): Pony, Glitzerstifte, Schneekugel.", ["Glitzerstifte"]),
    ("Tischreservierung für 8 Personen am 24.12., Allergene bitte auf die Karte.", ["Tischreservierung"]),
]:
    N("de", t, k)

# ================================================================ EN positive
P("en", "Dear Santa, my son Oliver has type 1 diabetes and would love a dinosaur pouch for his insulin pen. Thanks, Claire",
  [("health", "type 1 diabetes")], ["dinosaur pouch"])
P("en", "dear santa i want a switch and for my dad to get better from his cancer",
  [("health", "his cancer")], ["a switch"])
P("en", "Grandma here: my granddaughter has severe autism and loves trains, any big wooden train set please.",
  [("health", "severe autism")], ["wooden train set"])
P("en", "Call note: customer mentioned she's on chemo for stage 2 breast cancer, asked for delivery to her sister's.",
  [("health", "on chemo for stage 2 breast cancer")], ["delivery to her sister's"])
P("en", "Pt hx of COPD, on home oxygen 2L — driver please don't ring twice, he needs time to get to the door.",
  [("health", "hx of COPD, on home oxygen 2L")], ["don't ring twice"])
P("en", "My wife is 32 weeks pregnant so please no heavy boxes left on the porch.",
  [("health", "32 weeks pregnant")], ["porch"])
P("en", "Complaint: I told your agent I have epilepsy and the flashing lights on the toy triggered a seizure.",
  [("health", "I have epilepsy"), ("health", "triggered a seizure")], ["flashing lights on the toy"])
P("en", "Customer takes sertraline 100mg daily for anxiety and asked if the weighted blanket helps.",
  [("health", "sertraline 100mg daily for anxiety")], ["weighted blanket"])
P("en", "Our little girl was diagnosed with ADHD in the spring; fidget toys would be lovely.",
  [("health", "ADHD")], ["fidget toys"])
P("en", "He's a recovering alcoholic, 3 years sober, so no whisky gift sets please!",
  [("health", "recovering alcoholic, 3 years sober")], ["whisky gift sets"])
P("en", "Please leave parcel with neighbour at no. 12 – I've got MS and can't manage the stairs today.",
  [("health", "MS")], ["neighbour at no. 12"])
P("en", "Mum's got early-onset dementia, so please phone me rather than her about the order.",
  [("health", "early-onset dementia")], ["phone me rather than her"])
P("en", "I'm coeliac, so the hamper must be gluten free or I'm sending it back.",
  [("health", "I'm coeliac")], ["gluten free"])
P("en", "Sales call: prospect has rheumatoid arthritis in both hands, wants the easy-grip version.",
  [("health", "rheumatoid arthritis in both hands")], ["easy-grip version"])
P("en", "Been dealing with bipolar II since uni, the mood lamp is for me not my kid lol",
  [("health", "bipolar II")], ["mood lamp"])
P("en", "grandad had a triple bypass in oct and needs a recliner that lifts him up",
  [("health", "triple bypass")], ["recliner"])
P("en", "Customer is HIV+ and on Biktarvy, asks about discreet pharmacy packaging.",
  [("health", "HIV+"), ("health", "on Biktarvy")], ["discreet pharmacy packaging"])
P("en", "Please note: my daughter has a peanut allergy (anaphylactic), no nuts anywhere near the stocking fillers.",
  [("health", "peanut allergy (anaphylactic)")], ["stocking fillers"])
P("en", "He's been off work with long covid and chronic fatigue since 2023, so the call times must be flexible.",
  [("health", "long covid and chronic fatigue since 2023")], ["call times"])
P("en", "Note: caller has Crohn's disease, flare-up, asked to move the install date.",
  [("health", "Crohn's disease, flare-up")], ["install date"])
P("en", "Father is on dialysis three times a week, delivery only Tue/Thu afternoons.",
  [("health", "on dialysis three times a week")], ["Tue/Thu afternoons"])
# religion
P("en", "Santa, Grandpa is a devout Catholic and would like a new rosary and a St Christopher medal.",
  [("religion", "devout Catholic"), ("religion", "rosary"), ("religion", "St Christopher medal")], ["Grandpa"])
P("en", "No deliveries Friday evening or Saturday please, we keep Shabbat.",
  [("religion", "we keep Shabbat")], ["Friday evening"])
P("en", "Customer is Muslim and asked if the sweets contain pork gelatine.",
  [("religion", "Muslim")], ["pork gelatine"])
P("en", "My son wants a kippah with his football team's crest for his bar mitzvah.",
  [("religion", "kippah"), ("religion", "bar mitzvah")], ["football team's crest"])
P("en", "We're Jehovah's Witnesses so please don't include a Christmas card.",
  [("religion", "Jehovah's Witnesses")], ["Christmas card"])
P("en", "Religion: Church of England", [("religion", "Church of England")], [])
P("en", "She wears a hijab and would prefer a female fitter for the appointment.",
  [("religion", "wears a hijab")], ["female fitter"])
P("en", "He's fasting for Ramadan, so call after sunset, around 7.",
  [("religion", "fasting for Ramadan")], ["after sunset"])
P("en", "Occupation: Baptist youth pastor", [("religion", "Baptist youth pastor")], [])
# ethnic
P("en", "The family are Romani Gypsies from Kent, contact via the eldest son.",
  [("ethnic_origin", "Romani Gypsies")], ["Kent"])
P("en", "Customer is Kurdish, limited English, needs an interpreter for Sorani.",
  [("ethnic_origin", "Kurdish"), ("ethnic_origin", "interpreter for Sorani")], [])
P("en", "Complaint: the driver made a remark about me being Black and Nigerian-born.",
  [("ethnic_origin", "Black and Nigerian-born")], ["the driver"])
P("en", "Mr Kowalski, of Polish descent, wants the invoice in Polish.",
  [("ethnic_origin", "of Polish descent")], ["invoice"])
P("en", "Ethnicity: British Pakistani", [("ethnic_origin", "British Pakistani")], [])
P("en", "She's Native American (Navajo) and wants the beadwork kit.",
  [("ethnic_origin", "Native American (Navajo)")], ["beadwork kit"])
# political
P("en", "My dad has been a Labour Party member for 40 years; a Keir Hardie biography would be perfect.",
  [("political_opinion", "Labour Party member")], ["Keir Hardie biography"])
P("en", "Caller said he votes Republican and won't buy from a 'woke' company, cancelled order.",
  [("political_opinion", "votes Republican")], ["cancelled order"])
P("en", "Aunt Sue is a lifelong Tory, please don't send the Guardian subscription.",
  [("political_opinion", "lifelong Tory")], ["Guardian subscription"])
P("en", "I canvass for the Democrats every weekend, need a warm coat for it.",
  [("political_opinion", "canvass for the Democrats")], ["warm coat"])
P("en", "He's an SNP councillor in Dundee, invoice to his home address.",
  [("political_opinion", "SNP councillor")], ["Dundee"])
# union
P("en", "I'm a Unite member and we're on strike Monday, so deliver Tuesday please.",
  [("trade_union", "Unite member")], ["deliver Tuesday"])
P("en", "My husband is a shop steward for the Teamsters at the depot.",
  [("trade_union", "shop steward for the Teamsters")], ["the depot"])
P("en", "Teacher, NEU rep, asking about a class set of dictionaries.",
  [("trade_union", "NEU rep")], ["class set of dictionaries"])
P("en", "She's in UNISON and organising the picket outside the hospital.",
  [("trade_union", "in UNISON")], ["picket"])
P("en", "Joined the UAW last year, wants union-made boots only.",
  [("trade_union", "Joined the UAW")], ["union-made boots"])
# sex life
P("en", "My son is gay and bringing his boyfriend Tom this year, two mugs with names please.",
  [("sex_life", "gay")], ["two mugs with names"])
P("en", "Customer mentioned she's a lesbian and the account should be in both wives' names.",
  [("sex_life", "a lesbian")], ["both wives' names"])
P("en", "i'm bi and my wish is a rainbow hoodie", [("sex_life", "i'm bi")], ["rainbow hoodie"])
P("en", "Couple wants a discreet gift for their swingers' party, plain packaging.",
  [("sex_life", "swingers' party")], ["plain packaging"])
P("en", "He came out as asexual last year, so no joke gifts about dating please.",
  [("sex_life", "asexual")], ["joke gifts"])
# genetic
P("en", "My sister tested positive for a BRCA2 mutation, so please move her appointment.",
  [("genetic", "tested positive for a BRCA2 mutation")], ["appointment"])
P("en", "According to my genetic test I carry the Huntington's gene, put that in the notes for the retreat.",
  [("genetic", "I carry the Huntington's gene")], ["retreat"])
P("en", "Customer says his 23andMe report shows two copies of APOE4.",
  [("genetic", "23andMe report shows two copies of APOE4")], [])
P("en", "Both parents are cystic fibrosis carriers, noted on the intake form.",
  [("genetic", "cystic fibrosis carriers")], ["intake form"])
# biometric
P("en", "Please delete my fingerprint data from the locker system, I left the company.",
  [("biometric", "fingerprint data")], ["locker system"])
P("en", "The kiosk took a facial scan for age verification without asking.",
  [("biometric", "facial scan")], ["age verification"])
P("en", "We store your voiceprint only to log you into phone banking.",
  [("biometric", "voiceprint")], ["phone banking"])
P("en", "Consent to retina scan for the lab door: no", [("biometric", "retina scan")], [])
# identifiers
P("en", f"Please refund to my account {gb_iban[0]}, account holder Sam Patel.",
  [("iban", gb_iban[0])], ["account holder"])
P("en", f"IBAN: {gb_iban[1].replace(' ', '')} (Monzo)", [("iban", gb_iban[1].replace(' ', ''))], ["Monzo"])
P("en", f"my iban is {ie_iban} can u refund asap", [("iban", ie_iban)], [])
P("en", f"Refund to my Dutch account {nl_iban}, thanks.", [("iban", nl_iban)], [])
P("en", f"Paying by card: {fmt_card(visa[5])}, exp 08/28, CVV 562.",
  [("card", fmt_card(visa[5])), ("card", "562")], ["exp 08/28"])
P("en", f"card {mc[3]} cvc 118 charge it", [("card", f"{mc[3]} cvc 118")], [])
P("en", f"Customer read out Amex {fmt_card(amex[1], '-')}, expiry 02/29.", [("card", fmt_card(amex[1], '-'))], [])
P("en", f"SSN: {ssn[0]}", [("social_security", ssn[0])], [])
P("en", f"For the payroll form my social security number is {ssn[1].replace('-', ' ')}.",
  [("social_security", ssn[1].replace('-', ' '))], ["payroll form"])
P("en", f"National Insurance number {nino[0]}, please update HR.", [("social_security", nino[0])], ["update HR"])
P("en", f"NI no: {nino[1].replace(' ', '')}", [("social_security", nino[1].replace(' ', ''))], [])
P("en", f"My German tax ID (Steuer-ID) is {stid[8]}, needed for the rental contract.",
  [("tax_id", stid[8])], ["rental contract"])
P("en", f"ITIN {itin[0]} for the W-7 follow-up.", [("tax_id", itin[0])], ["W-7 follow-up"])
P("en", f"Tax identification number: {fmt_steuer(stid[9])}", [("tax_id", fmt_steuer(stid[9]))], [])
P("en", f"German ID card no. {ida[8]}, issued in Munich.", [("id_card", ida[8])], ["Munich"])
P("en", f"ID card number {ida[9][:9]} (for the age check)", [("id_card", ida[9][:9])], ["age check"])
P("en", "Passport number for the booking: 123456785, name as in passport: Jane Doherty.",
  [("passport", "123456785")], ["the booking"])
P("en", "US passport 563019827, expires 2031.", [("passport", "563019827")], ["2031"])
P("en", "Call back on 07700 900418 after 5pm.", [("phone", "07700 900418")], ["after 5pm"])
P("en", "Tel: +44 1632 960573 (landline, answerphone on)", [("phone", "+44 1632 960573")], ["answerphone on"])
P("en", "If nobody answers, ring my cell (555) 012-3374.", [("phone", "(555) 012-3374")], ["nobody answers"])
P("en", "Send the invoice to margaret.oyelaran@example.co.uk, not the office.",
  [("email", "margaret.oyelaran@example.co.uk")], ["invoice"])
P("en", "Email: dshaw77@example.com", [("email", "dshaw77@example.com")], [])
# mixed
P("en", f"Gran's wish list: 1000-piece puzzle. Pay from my account {gb_iban[2]}. I've got macular degeneration so large print please. Call 07700 900211.",
  [("iban", gb_iban[2]), ("health", "macular degeneration"), ("phone", "07700 900211")], ["1000-piece puzzle", "large print"])
P("en", f"New customer: Mr Reilly, roofer, GMB member, NI {nino[2]}, pays with {fmt_card(mc[4])}.",
  [("trade_union", "GMB member"), ("social_security", nino[2]), ("card", fmt_card(mc[4]))], ["roofer"])
P("en", f"Onboarding: SSN {ssn[2]}, German passport {pas[0]}, email t.nakamura@example.org.",
  [("social_security", ssn[2]), ("passport", pas[0]), ("email", "t.nakamura@example.org")], ["Onboarding"])
P("en", f"Hotel check-in note: guest showed passport 987654325 and German ID {ida[7]}.",
  [("passport", "987654325"), ("id_card", ida[7])], ["Hotel check-in"])
P("en", f"New starter: SSN {ssn[3]}, ITIN {itin[1]} for spouse, phone (555) 014-9902, email r.alvarez@example.net",
  [("social_security", ssn[3]), ("tax_id", itin[1]), ("phone", "(555) 014-9902"), ("email", "r.alvarez@example.net")], ["New starter"])
P("en", f"Lost my NI card, number was {nino[3]}. Send a new one to aoife.byrne@example.ie please.",
  [("social_security", nino[3]), ("email", "aoife.byrne@example.ie")], ["Lost my NI card"])
P("en", f"Visa application: passport 802117364, German ID {ida[0]}, tel +44 7700 900655",
  [("passport", "802117364"), ("id_card", ida[0]), ("phone", "+44 7700 900655")], ["Visa application"])
P("en", f"Cross-border worker: German tax ID {fmt_steuer(stid[0])}, ID card {ida[1]}.",
  [("tax_id", fmt_steuer(stid[0])), ("id_card", ida[1])], ["Cross-border worker"])
P("en", "Passport for the flight: 310245876 – the kid flying with me has asthma and needs an aisle seat.",
  [("passport", "310245876"), ("health", "has asthma")], ["aisle seat"])
P("en", f"Passport no. {pas[1]}, Mrs Rahman, travelling for Umrah in March.",
  [("passport", pas[1]), ("religion", "travelling for Umrah")], ["Mrs Rahman"])
P("en", "UNITE rep and Green Party councillor, invoice to j.fenwick@example.org.",
  [("trade_union", "UNITE rep"), ("political_opinion", "Green Party councillor"), ("email", "j.fenwick@example.org")], [])
P("en", "My coworker's in the Teamsters too and scared for his job cos he's a registered Democrat and the boss isn't.",
  [("trade_union", "in the Teamsters"), ("political_opinion", "registered Democrat")], ["the boss"])
P("en", "Customer is of Somali heritage and transgender, prefers no Mr/Ms in letters.",
  [("ethnic_origin", "of Somali heritage"), ("sex_life", "transgender")], ["no Mr/Ms"])
P("en", "He has a boyfriend and is openly homosexual but his parents don't know, no post to the home address!",
  [("sex_life", "openly homosexual")], ["no post to the home address"])
P("en", "A DNA paternity test showed Liam isn't his son, so child support is stopping.",
  [("genetic", "DNA paternity test showed Liam isn't his son")], ["child support"])
P("en", "NIPT screening came back positive for Down syndrome, baby due in May, we still want the pram.",
  [("genetic", "NIPT screening came back positive for Down syndrome"), ("health", "baby due in May")], ["pram"])
P("en", "Entry is by palm vein scan, the templates sit with the vendor.",
  [("biometric", "palm vein scan")], ["the vendor"])
P("en", "The app sent my Face ID template to their server, I never agreed to that!",
  [("biometric", "Face ID template")], ["The app"])
P("en", "Please remove my fingerprints from the clocking-in system, I don't work there any more.",
  [("biometric", "fingerprints")], ["clocking-in system"])
P("en", f"Paying with Amex {fmt_card(amex[2])}, security code 9021.", [("card", fmt_card(amex[2])), ("card", "9021")], [])
P("en", "Home: 01632 960 884, mobile: 07700 900 732", [("phone", "01632 960 884"), ("phone", "07700 900 732")], [])
P("en", "Resident is an Irish Traveller and deaf, please text 07700 900309 on arrival.",
  [("ethnic_origin", "Irish Traveller"), ("health", "deaf"), ("phone", "07700 900309")], ["on arrival"])
P("en", "Voted Reform at the last election and now wants a refund on his Labour-red scarf, go figure.",
  [("political_opinion", "Voted Reform")], ["Labour-red scarf"])
P("en", "Has been a member of the RMT since '98, shifts make weekday delivery impossible.",
  [("trade_union", "a member of the RMT")], ["weekday delivery"])
P("en", f"IBAN for the deposit: {fr_iban}", [("iban", fr_iban)], ["deposit"])
P("en", f"SSN on the form is {ssn[4]} and the passport is 440218937.", [("social_security", ssn[4]), ("passport", "440218937")], ["the form"])

# ================================================================ EN evasion
E("en", f"My daughter has {ent('diabetes', 4)} and wants stickers.", [("health", ent('diabetes', 4))], ["stickers"])
E("en", f"Grandpa has {tag('epilepsy', 3)} and can't bath alone.", [("health", tag('epilepsy', 3))], [])
E("en", f"Diagnosis: {shy('depression', 3)}, call mornings only.", [("health", shy('depression', 3))], ["call mornings only"])
E("en", f"My brother has {comb('asthma', 1)} and needs an air purifier.", [("health", comb('asthma', 1))], ["air purifier"])
E("en", f"she has {sep('cancer', '.')} and wants a beanie", [("health", sep('cancer', '.'))], ["beanie"])
E("en", f"dad gets {sep('migraines', '-')}, quiet doorbell pls", [("health", sep('migraines', '-'))], ["quiet doorbell"])
E("en", f"I'm {sep('gay', ' ')} and looking for a gift for my husband", [("sex_life", sep('gay', ' '))], [])
E("en", f"Nan is {hexent('Catholic', 0)} and wants a nativity set.", [("religion", hexent('Catholic', 0))], ["nativity set"])
E("en", f"He's a member of the {wrap('Teamsters', 4)} and will come after the strike.", [("trade_union", f"the {wrap('Teamsters', 4)}")], [])
E("en", f"Note: {wrap('BRCA1', 2)} positive, yearly screening", [("genetic", f"{wrap('BRCA1', 2)} positive")], [])
E("en", f"Customer votes {sep('Labour', '.')} and rants about it.", [("political_opinion", f"votes {sep('Labour', '.')}")], [])
E("en", f"IBAN {gb_iban[3].replace('0', 'O', 3)} for the refund", [("iban", gb_iban[3].replace('0', 'O', 3))], ["the refund"])
E("en", f"Account: {gb_iban[4].replace(' ', '&nbsp;')}", [("iban", gb_iban[4].replace(' ', '&nbsp;'))], [])
E("en", f"Card: {fmt_card(visa[6], '/')}", [("card", fmt_card(visa[6], '/'))], [])
E("en", f"credit card {fmt_card(mc[5], '.')} please charge", [("card", fmt_card(mc[5], '.'))], [])
E("en", f"SSN {ssn[5].replace('-', '&nbsp;')} on the W-2", [("social_security", ssn[5].replace('-', '&nbsp;'))], ["W-2"])
E("en", f"My NI number: {'-'.join(nino[4].split(' '))}", [("social_security", '-'.join(nino[4].split(' ')))], [])
E("en", f"social: {' '.join(ssn[6].replace('-', ''))}", [("social_security", ' '.join(ssn[6].replace('-', '')))], [])
E("en", "Ring me: oh seven seven oh oh, nine oh oh, five one two", [("phone", "oh seven seven oh oh, nine oh oh, five one two")], [])
E("en", "mail me at owen dot price at example dot com", [("email", "owen dot price at example dot com")], [])
E("en", "Contact: h.mensah(at)example(dot)org", [("email", "h.mensah(at)example(dot)org")], [])
E("en", f"Withdraw my consent to storing my {ent('biometric', 2)} data!", [("biometric", f"{ent('biometric', 2)} data")], [])
E("en", f"The kid has {tag('AD', 1, 'i')}HD, please be patient on the phone.", [("health", f"{tag('AD', 1, 'i')}HD")], ["patient on the phone"])
E("en", f"The {sep('Roma', '.')} family from Leeds asked for a callback", [("ethnic_origin", sep('Roma', '.'))], ["Leeds"])
E("en", f"ID: {' '.join(ida[2])}", [("id_card", ' '.join(ida[2]))], [])
E("en", f"Passport {pas[2][:4]}&nbsp;{pas[2][4:]} into the booking system please", [("passport", f"{pas[2][:4]}&nbsp;{pas[2][4:]}")], ["booking system"])
E("en", f"we're a {sep('lesbian', '-')} couple and want a double bed", [("sex_life", f"{sep('lesbian', '-')} couple")], ["double bed"])
E("en", f"My kid has {hexent('autism', 1)}, please don't ring.", [("health", hexent('autism', 1))], ["don't ring"])
E("en", f"Note: {comb('schizophrenia', 5, chr(0x308))}, carer handles post.", [("health", comb('schizophrenia', 5, chr(0x308)))], ["carer handles post"])
E("en", f"she's {shy('Muslim', 3)} and wears a {tag('hij', 2, 'em')}ab", [("religion", shy('Muslim', 3)), ("religion", f"wears a {tag('hij', 2, 'em')}ab")], [])
E("en", f"Card {visa[7][:8]}.{visa[7][8:]} CVV 4 0 7", [("card", f"{visa[7][:8]}.{visa[7][8:]} CVV 4 0 7")], [])
E("en", f"tax ID {fmt_steuer(stid[1]).replace(' ', '&nbsp;')} for the German payroll", [("tax_id", fmt_steuer(stid[1]).replace(' ', '&nbsp;'))], ["German payroll"])
E("en", f"She is a {sep('UNISON', '.')} steward", [("trade_union", f"{sep('UNISON', '.')} steward")], [])
E("en", f"Consent: {tag('finger', 6, 'u')}print scan for the gym door", [("biometric", f"{tag('finger', 6, 'u')}print scan")], ["gym door"])
E("en", f"genetic test: {ent('Lynch', 1)} syndrome carrier", [("genetic", f"{ent('Lynch', 1)} syndrome carrier")], [])
E("en", f"Mr Boateng, {ent('Ghanaian', 0)}-born, complained about the doorman", [("ethnic_origin", f"{ent('Ghanaian', 0)}-born")], ["doorman"])

itin2, itin3 = itin[2], itin[3]
ida10, ida11 = make_doc(rng, "id"), make_doc(rng, "id")
P("en", f"ITIN: {itin2.replace('-', '')}", [("tax_id", itin2.replace('-', ''))], [])
P("en", f"For the 1040 my husband uses his ITIN {itin3}, I use my SSN {ssn[7]}.", [("tax_id", itin3), ("social_security", ssn[7])], ["1040"])
P("en", f"Name: Greta Hoffmann, City: Bristol, German ID {ida10}", [("id_card", ida10)], ["Bristol"])
P("en", f"personalausweis (german id) no {ida11[:9]} – for the car hire desk", [("id_card", ida11[:9])], ["car hire desk"])

# ================================================================ EN negative
for t, k in [
    ("My mum works as a cook at the hospital and wants a knife set.", ["cook at the hospital"]),
    ("Corporate customer NHS Supply Chain ordered 40 branded calendars.", ["NHS Supply Chain"]),
    ("Deliver to Boots Pharmacy on the High Street, use the back entrance.", ["Boots Pharmacy"]),
    ("Leave the parcel by the church, the yellow house with the roses.", ["by the church"]),
    ("Bulk order for the Unite regional office in Leeds, 12 mugs.", ["Unite regional office"]),
    ("The Conservative Club in Henley wants a quote for 200 pens.", ["Conservative Club"]),
    ("Wish list: Roma tomato seeds and a mini greenhouse.", ["Roma tomato seeds"]),
    ("Grandpa wants a cruise on the MS Amadeus for Christmas.", ["MS Amadeus"]),
    ("For my daughter the book 'Understanding ADHD: A Guide for Teachers' – she's a trainee teacher.", ["Understanding ADHD"]),
    ("Our dog has diabetes and gets special food, the large bag please.", ["Our dog has diabetes"]),
    ("I'm gonna have a heart attack, the delivery is late AGAIN!!!", ["heart attack"]),
    ("Star sign: Cancer. Wants a horoscope calendar.", ["Star sign: Cancer"]),
    ("Occupation: Staff nurse", ["Staff nurse"]),
    ("Occupation: Psychiatrist's receptionist", ["Psychiatrist's receptionist"]),
    ("City: Bath", ["Bath"]),
    ("Phone with fingerprint sensor, 128 GB, black – gift wrap please.", ["fingerprint sensor"]),
    ("DNA double helix model kit from the science museum shop for my nephew.", ["DNA double helix model kit"]),
    ("Order number 4017 2231 8890 5513, please check status.", ["Order number"]),
    (f"Invoice no. {b_st[2]} dated 3 Nov 2026 is still unpaid.", ["Invoice no."]),
    ("Tracking 1Z999AA10123456784 stuck at the depot for days.", ["1Z999AA10123456784"]),
    ("Our VAT number is GB 123 4567 89, company number 08123456.", ["VAT number"]),
    (f"Loyalty card {b_card[1]} doesn't scan at the till.", ["Loyalty card"]),
    ("Date of birth 14/02/1987, customer since 2015.", ["Date of birth"]),
    ("The shop on Marx Street is shut, please use locker 118.", ["locker 118"]),
    ("We love the green beans in jars, 6 please.", ["green beans"]),
    ("Black Friday deal: heat pad 'Arthritis Relief Comfort' only £29.99.", ["Arthritis Relief Comfort"]),
    ("Dear Santa, I want a doctor's kit and a toy stethoscope.", ["doctor's kit"]),
    ("The cat saw the vet, suspected hyperthyroidism, switching food.", ["cat saw the vet"]),
    ("Deliver to the parish hall of St Mary's, they're running the bazaar.", ["parish hall of St Mary's"]),
    ("Christmas market by the cathedral: stall 14, mulled wine and nativity figures.", ["by the cathedral"]),
    ("The film 'Left Behind' on DVD please.", ["Left Behind"]),
    ("My boss is a total psycho but whatever, I just need the printer.", ["total psycho"]),
    ("that was sick, the courier was here in 10 mins", ["that was sick"]),
    ("City: Lancaster, PA", ["Lancaster, PA"]),
    ("Occupation: Union Pacific train conductor", ["Union Pacific train conductor"]),
    ("Crossword book for Gran and biscuits from Greggs.", ["Greggs"]),
    ("Children's book 'The Gruffalo' – hardback please.", ["The Gruffalo"]),
    ("Deliver to: Teamsters Local 705 hall, goods-in 8–12.", ["Teamsters Local 705 hall"]),
    ("Tracking: JD014600006281840501, please leave with neighbour.", ["JD014600006281840501"]),
    ("Item 912-44-0187 is sold out, send an alternative.", ["Item 912-44-0187"]),
    (f"IBAN field was wrong: {b_gb}, customer is posting the right one.", ["IBAN field was wrong"]),
    ("Batch L2306-118, best before 05/2027.", ["Batch L2306-118"]),
    ("I want a nurse costume for the Halloween party.", ["nurse costume"]),
    ("Sushi platter with tempura and miso soup for 4.", ["miso soup"]),
    ("The series 'Grey's Anatomy' box set as a gift for my husband.", ["Grey's Anatomy"]),
    ("Parcel for the vicarage, Mrs Meadows will sign.", ["vicarage"]),
    ("Room 302, Crown Hotel, arriving 22 Dec.", ["Crown Hotel"]),
    ("City: Swindon, Occupation: Physiotherapist", ["Physiotherapist"]),
    ("A jigsaw of St Paul's Cathedral and one of the Blue Mosque please.", ["Blue Mosque"]),
    ("I'm totally addicted to these gingerbread men, three packs please!", ["addicted to these gingerbread men"]),
    ("Contract no. 2026/11/0457-B, term 24 months.", ["Contract no."]),
    ("Appointment on 29/02/2028 at 10:30 with customer service.", ["customer service"]),
    ("Order 51 004 221 798 please cancel.", ["Order"]),
    ("Howdy, leave it at the Walmart pickup, thanks y'all.", ["Walmart pickup"]),
    ("The fitness tracker measures heart rate and sleep – that's Dad's wish.", ["measures heart rate"]),
    ("Blood oranges and black pudding from the butcher, chilled please.", ["black pudding"]),
    ("30 hi-vis vests for the staff outing of Red Cross Logistics Ltd.", ["Red Cross Logistics Ltd"]),
    ("Public Health England as customer: invoice to the post room.", ["Public Health England"]),
    ("Customer asked if the walker works for pets – he means the dog buggy.", ["dog buggy"]),
    ("Gift for the neighbour: cookbook 'Easy Halal Home Cooking'.", ["Easy Halal Home Cooking"]),
    ("My husband is as stubborn as a Yankees fan but he likes socks.", ["Yankees fan"]),
    ("St Joseph's Primary is ordering craft supplies for the nativity play.", ["St Joseph's Primary"]),
    ("Occupation: Dental nurse, City: Cork", ["Dental nurse"]),
    ("Dear Santa, I want a robot that reads fingerprints like in the detective films!", ["robot"]),
    (f"Staff number {b_doc[1]} – revoke warehouse access.", ["Staff number"]),
    ("The customer service phone number is on the box, we don't have it.", ["customer service phone number"]),
    ("The courier put my parcel in the wheelie bin, that's insane!", ["wheelie bin"]),
    ("Storm warning tonight, please leave it in the garage.", ["the garage"]),
    ("I'm a big Verdi fan – the opera DVD box please.", ["Verdi fan"]),
    ("Order for Dr Wendt's surgery: 3 boxes of disposable gloves.", ["Dr Wendt's surgery"]),
    ("Calendar 2027 'The World's Most Beautiful Synagogues' for the library.", ["Most Beautiful Synagogues"]),
    ("Promo code XMAS-2026-4471 isn't accepted.", ["XMAS-2026-4471"]),
    ("Please call the switchboard, extension 200.", ["extension 200"]),
    (f"Reward card number: {b_card[4]}", ["Reward card number"]),
    ("Occupation: Care home cleaner, City: Derby", ["Care home cleaner"]),
    ("Corporate order from Blue Cross Blue Shield: 500 USB sticks with logo.", ["Blue Cross Blue Shield"]),
    ("Order from the Salvation Army charity shop, 20 wooden crates.", ["Salvation Army charity shop"]),
    ("Dear Santa, please a Lego hospital with a helicopter!", ["Lego hospital"]),
    ("Dad wants the board game 'Pandemic'.", ["Pandemic"]),
    ("Delivery: St Thomas' Hospital, canteen – I work the till there.", ["I work the till"]),
    ("Feeling so depressed about this weather lol, anyway where's my parcel?", ["this weather"]),
    ("Two tickets for 'The Book of Mormon' in the West End.", ["The Book of Mormon"]),
    ("Chocolate Easter bunny and a marzipan Santa please.", ["marzipan Santa"]),
    ("We need an Advent wreath with four red candles.", ["Advent wreath"]),
    ("Star sign Gemini, rising Libra – put that on the mug.", ["Star sign Gemini"]),
    ("The rail strike delayed my delivery, so annoying.", ["rail strike"]),
    ("Don't deliver to 12 Union Street, that's the old address.", ["12 Union Street"]),
    ("Our horse has laminitis, need hoof boots size 3.", ["Our horse has laminitis"]),
    ("Budgie Charlie is blind in one eye, need a cage with a ramp.", ["Budgie Charlie"]),
    ("Face cream with hyaluronic acid and a hand cream for Nan.", ["Face cream"]),
    ("The combination lock jammed, the code was 4471.", ["combination lock"]),
    (f"Invalid IBAN in the form: {b_iban[2]} – please call the customer.", ["Invalid IBAN in the form"]),
    ("Parcel shop code 7731 9902 4415 8827, expires Friday.", ["Parcel shop code"]),
    ("Meter serial S12A 339874, reading on 2 Jan.", ["Meter serial"]),
    ("Customer no. 88-120-4471, title Dr Summers.", ["Customer no."]),
    ("Lottery ticket 13 21 34 41 45 49, bonus 7 – left in my wallet.", ["Lottery ticket"]),
    ("Weight 2.4 kg, 40 x 30 x 20 cm, send as small parcel.", ["small parcel"]),
    ("The Women's Institute branch in Ely is ordering tea towels.", ["Women's Institute branch"]),
    ("Gift for my son-in-law: 'A History of the Labour Movement'.", ["A History of the Labour Movement"]),
    ("Not a fan of Christmas music, voucher instead of the CD please.", ["voucher instead of the CD"]),
    ("Next door's a proper Yorkshireman, talks funny, but takes parcels in.", ["takes parcels in"]),
    ("Kebab vouchers for the apprentice, 10 of them.", ["Kebab vouchers"]),
    ("Wish list from Mia (6): pony, glitter pens, snow globe.", ["glitter pens"]),
    ("Table for 8 on 24 Dec, allergens on the menu please.", ["allergens on the menu"]),
    ("The Democrat and Chronicle newspaper subscription, renew for a year.", ["Democrat and Chronicle"]),
    ("Sheriff's office in Polk County wants 50 thermoses.", ["Sheriff's office"]),
    ("We ordered the Gay Paree poster from the 1920s collection.", ["Gay Paree poster"]),
    ("Left-handed scissors for my son, he's a leftie like his dad.", ["Left-handed scissors"]),
]:
    N("en", t, k)

C.write("redaction-dev2.jsonl")
