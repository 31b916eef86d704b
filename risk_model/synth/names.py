"""Word lists for synthetic identities and addresses.

Names are common ones for each origin so that the same name and birth year recur, as they do in
real registers; nicknames and transliteration variants are the kinds linkage studies report.
Streets, towns and buildings are invented for a fictional area whose postcodes start ``QX``
(Q is never the first letter of a real UK postcode), so no real address can be produced.
"""

from __future__ import annotations

__all__ = [
    "BUILDING_WORDS",
    "FIRST_NAMES",
    "LOCALITIES",
    "NAME_ORIGIN_OF_CATEGORY",
    "NICKNAMES",
    "STREET_SUFFIXES",
    "STREET_WORDS",
    "SURNAMES",
    "TOWN",
    "TRANSLITERATED_ORIGINS",
    "VARIANTS",
    "WARD_NAMES",
]

_F, _M = "F", "M"

#: First names by origin and sex.
FIRST_NAMES: dict[str, dict[str, list[str]]] = {
    "british": {
        _F: "Olivia Amelia Isla Ava Emily Sophie Grace Jessica Lily Ella Charlotte Mia Chloe Lucy "
        "Hannah Sarah Emma Laura Rebecca Rachel Claire Helen Susan Karen Julie Margaret Patricia "
        "Elizabeth Jennifer Catherine Victoria Joanne Nicola Michelle Dorothy Joan Jean Barbara "
        "Christine Katherine Abigail Megan Ellie Freya Poppy".split(),
        _M: "Oliver George Harry Jack Jacob Noah Charlie Thomas Oscar William James Daniel Joshua "
        "Samuel Matthew Benjamin Robert Michael David John Richard Paul Mark Andrew Peter Stephen "
        "Christopher Anthony Kenneth Ronald Edward Alexander Nicholas Jonathan Timothy Philip "
        "Alfie Leo Freddie Archie Henry Joseph Ethan Lewis".split(),
    },
    "irish": {
        _F: "Siobhan Niamh Aoife Ciara Mary Bridget Roisin Orla Sinead Maeve".split(),
        _M: "Sean Patrick Liam Ciaran Declan Conor Niall Eoin Padraig Michael".split(),
    },
    "european": {
        _F: "Anna Maria Katarzyna Agnieszka Monika Ioana Elena Andreea Julia Natalia Ewa Daria "
        "Sofia Alina Irina".split(),
        _M: "Piotr Tomasz Krzysztof Marek Jakub Andrei Mihai Ionut Alexandru Pawel Marcin "
        "Vasile Adam Lukasz Gabriel".split(),
    },
    "south_asian": {
        _F: "Fatima Aisha Ayesha Zainab Maryam Priya Anjali Sunita Nusrat Shabana Amina Sana "
        "Parveen Nazia Rukhsana Deepa Kavita Hina Sadia Farzana".split(),
        _M: "Mohammed Muhammad Ahmed Ali Hassan Hussain Imran Amir Raj Sanjay Arjun Rahul Vikram "
        "Abdul Tariq Shahid Bilal Faisal Rizwan Anil".split(),
    },
    "east_asian": {
        _F: "Mei Li Xiu Ying Hui Yan Jing Lan Wei Xia".split(),
        _M: "Wei Jun Hao Ming Lei Jian Tao Chen Yong Qiang".split(),
    },
    "african": {
        _F: "Abena Adwoa Ama Chioma Ngozi Amara Funmilayo Nkechi Fatoumata Halima Blessing "
        "Grace Esther Comfort Precious".split(),
        _M: "Kwame Kofi Chinedu Oluwaseun Emeka Tunde Abdi Mohamed Yusuf Ibrahim Samuel Daniel "
        "Emmanuel Michael Joseph".split(),
    },
    "caribbean": {
        _F: "Marcia Beverley Jacqueline Sharon Denise Paulette Janet Yvonne Shanice Jade".split(),
        _M: "Delroy Winston Leroy Marlon Clive Errol Trevor Dwayne Andre Tyrone".split(),
    },
    "other": {
        _F: "Layla Noor Yasmin Sara Leila Mariam Huda Rana Dina Lina".split(),
        _M: "Omar Karim Youssef Khalid Samir Ahmad Mustafa Hamza Ziad Nabil".split(),
    },
}

#: Surnames by origin.
SURNAMES: dict[str, list[str]] = {
    "british": "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts "
    "Robinson Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel "
    "Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison "
    "Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths "
    "Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox "
    "Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman "
    "Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes "
    "Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Dixon Fletcher".split(),
    "irish": "Murphy Kelly Byrne Ryan OBrien Walsh OSullivan OConnor McCarthy Doyle Gallagher "
    "Doherty Kennedy Lynch Murray Quinn Moore McLaughlin Carroll Connolly".split(),
    "european": "Nowak Kowalski Wisniewski Wojcik Kowalczyk Kaminski Lewandowski Zielinski Popescu "
    "Ionescu Popa Pop Stan Dumitru Rossi Ferreira Silva Santos Garcia Muller".split(),
    "south_asian": "Khan Ali Ahmed Hussain Patel Begum Akhtar Bibi Shah Singh Kaur Iqbal Rahman "
    "Islam Uddin Miah Chowdhury Mahmood Butt Sharma Kumar Mistry Desai Parmar Rashid Aslam "
    "Malik Anwar Javed Qureshi".split(),
    "east_asian": "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Lin Guo He "
    "Wong Chan".split(),
    "african": "Mensah Osei Boateng Asante Okafor Okonkwo Adeyemi Adebayo Oluwole Eze Nwosu "
    "Mohamed Abdi Hassan Ahmed Diallo Traore Kamara Bangura Mwangi".split(),
    "caribbean": "Campbell Brown Williams Johnson Thomas Francis Clarke Edwards Grant Henry "
    "Reid Morgan Stewart Gordon Bailey".split(),
    "other": "Hassan Ahmed Ali Ibrahim Khalil Haddad Nasser Saleh Mansour Aziz".split(),
}

#: Which name origin each NHS ethnic category draws from, with weights.
NAME_ORIGIN_OF_CATEGORY: dict[str, dict[str, float]] = {
    "A": {"british": 0.97, "irish": 0.03},
    "B": {"irish": 0.85, "british": 0.15},
    "C": {"european": 0.85, "british": 0.15},
    "D": {"british": 0.6, "caribbean": 0.4},
    "E": {"british": 0.6, "african": 0.4},
    "F": {"british": 0.6, "south_asian": 0.4},
    "G": {"british": 0.7, "other": 0.3},
    "H": {"south_asian": 1.0},
    "J": {"south_asian": 1.0},
    "K": {"south_asian": 1.0},
    "L": {"south_asian": 0.8, "other": 0.2},
    "R": {"east_asian": 1.0},
    "M": {"caribbean": 0.9, "british": 0.1},
    "N": {"african": 1.0},
    "P": {"african": 0.5, "caribbean": 0.5},
    "S": {"other": 0.8, "european": 0.2},
}

#: Origins whose names are transliterated from other scripts, and so vary more between records.
TRANSLITERATED_ORIGINS = ("south_asian", "east_asian", "other", "african")

#: Common known-as names.
NICKNAMES: dict[str, list[str]] = {
    "William": ["Bill", "Will", "Billy"], "Robert": ["Bob", "Rob", "Bobby"],
    "Richard": ["Rick", "Dick", "Rich"], "Michael": ["Mike", "Mick"], "David": ["Dave"],
    "James": ["Jim", "Jimmy", "Jamie"], "Thomas": ["Tom", "Tommy"], "Joseph": ["Joe"],
    "Christopher": ["Chris"], "Anthony": ["Tony"], "Kenneth": ["Ken", "Kenny"],
    "Ronald": ["Ron", "Ronnie"], "Edward": ["Ed", "Eddie", "Ted"], "Alexander": ["Alex"],
    "Nicholas": ["Nick"], "Jonathan": ["Jon"], "Timothy": ["Tim"], "Philip": ["Phil"],
    "Matthew": ["Matt"], "Benjamin": ["Ben"], "Samuel": ["Sam"], "Daniel": ["Dan", "Danny"],
    "Andrew": ["Andy", "Drew"], "Stephen": ["Steve"], "Peter": ["Pete"], "Joshua": ["Josh"],
    "Frederick": ["Fred"], "Henry": ["Harry"], "Patrick": ["Paddy", "Pat"],
    "Elizabeth": ["Liz", "Beth", "Lizzie"], "Margaret": ["Maggie", "Peggy", "Meg"],
    "Catherine": ["Cathy", "Kate"], "Katherine": ["Kate", "Kathy"], "Jennifer": ["Jen", "Jenny"],
    "Victoria": ["Vicky", "Tori"], "Susan": ["Sue"], "Patricia": ["Pat", "Trish"],
    "Rebecca": ["Becky"], "Jessica": ["Jess"], "Abigail": ["Abi", "Abby"],
    "Dorothy": ["Dot", "Dolly"], "Barbara": ["Babs"], "Christine": ["Chris", "Chrissie"],
    "Nicola": ["Nicky"], "Charlotte": ["Lottie"], "Joanne": ["Jo"], "Michelle": ["Shell"],
    "Mohammed": ["Mo"], "Muhammad": ["Mo"], "Alina": ["Ali"],
}

#: Spelling variants of names transliterated from other scripts.
VARIANTS: dict[str, list[str]] = {
    "Mohammed": ["Muhammad", "Mohammad", "Mohamed", "Mohamad"],
    "Muhammad": ["Mohammed", "Mohammad", "Muhammed"],
    "Mohamed": ["Mohammed", "Mohamud"],
    "Ahmed": ["Ahmad", "Ahmet"], "Ahmad": ["Ahmed"], "Hussain": ["Hussein", "Husain", "Hossain"],
    "Hassan": ["Hasan"], "Chowdhury": ["Choudhury", "Chaudhry", "Chaudhary", "Choudhary"],
    "Rahman": ["Rehman"], "Uddin": ["Udin", "Ud-Din"], "Miah": ["Mia", "Meah"],
    "Mahmood": ["Mahmud", "Mehmood"], "Qureshi": ["Quraishi", "Kureshi"],
    "Yusuf": ["Yousef", "Youssef", "Yusef"], "Youssef": ["Yusuf", "Yousef"],
    "Aisha": ["Ayesha", "Aysha"], "Ayesha": ["Aisha", "Aysha"], "Fatima": ["Fatma", "Fatimah"],
    "Zainab": ["Zaynab", "Zenab"], "Maryam": ["Mariam", "Mariyam"], "Mariam": ["Maryam"],
    "Amina": ["Aminah", "Ameena"], "Nusrat": ["Nasrat"], "Parveen": ["Perveen", "Parvin"],
    "Rizwan": ["Rizvan"], "Faisal": ["Faysal", "Feisal"], "Tariq": ["Tarik", "Tareq"],
    "Shahid": ["Shaheed"], "Abdul": ["Abdal", "Abdool"], "Khalid": ["Khaled"],
    "Zhang": ["Chang", "Cheung"], "Chen": ["Chan", "Chin"], "Wang": ["Wong"], "Wu": ["Woo", "Ng"],
    "Huang": ["Wong", "Hwang"], "Zhou": ["Chow", "Chou"], "Xu": ["Hsu", "Tsui"],
    "Liu": ["Lau", "Lew"], "Li": ["Lee", "Lei"], "Lin": ["Lam", "Lim"], "Hu": ["Woo", "Wu"],
    "Mei": ["May"], "Xiu": ["Siu"], "Ying": ["Ing"], "Jun": ["Chun"],
    "Oluwaseun": ["Seun", "Oluwasean"], "Funmilayo": ["Funmi"], "Chinedu": ["Chinedum"],
    "Okonkwo": ["Okonko"], "Adeyemi": ["Adeyemy"], "Mensah": ["Mensa"],
    "Abdi": ["Abdy"], "Ibrahim": ["Ibraheem", "Ebrahim"], "Omar": ["Umar"],
    "Mustafa": ["Mostafa", "Moustafa"], "Hamza": ["Hamzah"], "Layla": ["Laila", "Leila"],
    "Noor": ["Nour", "Nur"],
}

STREET_WORDS = (
    "Mill Church Station Park Victoria Albert Queen King Oak Elm Ash Beech Willow Cedar Holly "
    "Rose Meadow Orchard Brook River Bridge Castle Abbey Chapel School Market Hill Green Grove "
    "Windmill Spring Well Moor Heath Forest Manor Priory Cross Bank Garden Valley Field Lark "
    "Hawthorn Rowan Hazel Maple Poplar Laurel Ivy Primrose Bluebell Clover Heather Fern Thorn "
    "Nelson Wellington Raglan Alma Balaclava Gladstone Cromwell Stanley Howard Russell Grosvenor "
    "Cavendish Lancaster York Windsor Stuart Tudor Norman Saxon Roman Cobden Bright Peel Derby "
    "Chester Carlisle Durham Exeter Lincoln Warwick Stafford Bedford Hereford Worcester"
).split()
STREET_SUFFIXES = (
    "Road Street Lane Avenue Close Drive Way Crescent Gardens Terrace Place Grove Court Walk Rise"
).split()
BUILDING_WORDS = (
    "Oak Ash Beech Cedar Willow Holly Rowan Hazel Maple Larch Birch Alder Elm Juniper Linden "
    "Aspen Cherry Poplar Walnut Chestnut"
).split()
BUILDING_SUFFIXES = ("House", "Court", "Lodge", "Mansions", "Point", "Tower")
LOCALITIES = (
    "Northfield Southgate Eastbrook Westholme Highcross Lowmoor Brookside Fairview Greenhill "
    "Kingsmead Queensway Ashcroft Beechwood Riverside Oakley Hilltop Millbank Stonebridge"
).split()
TOWN = "Synthton"
WARD_NAMES = LOCALITIES
